//! [`PgSource`]: where the source database is and how to log in, for SQL connections
//! (`tokio-postgres`) and replication connections (`pgwire-replication`) alike.

use std::str::FromStr;

use pgwire_replication::{ReplicationConfig, TlsConfig};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::{Client, Config, NoTls};

use super::PgError;

/// The source database's connection settings.
///
/// Built from a libpq-style URL or key-value string (`postgres://user:pw@host:5432/db`,
/// `host=/run/postgresql dbname=app`). TCP hosts and Unix socket directories both work; of
/// several hosts only the first is used. TLS is not supported yet: `sslmode=require` is
/// refused with [`PgError::TlsUnsupported`] rather than silently connecting in the clear
/// (`prefer`, the default, connects without TLS).
#[derive(Debug, Clone)]
pub struct PgSource {
    config: Config,
}

impl PgSource {
    /// Settings from a connection string.
    pub fn from_url(url: &str) -> Result<Self, PgError> {
        let config = Config::from_str(url).map_err(|e| PgError::Config {
            reason: e.to_string(),
        })?;
        Self::from_config(config)
    }

    /// Settings from a `tokio-postgres` configuration (which needs a host and a user).
    pub fn from_config(config: Config) -> Result<Self, PgError> {
        if config.get_hosts().is_empty() {
            return Err(PgError::Config {
                reason: "no host given".to_owned(),
            });
        }
        if config.get_user().is_none() {
            return Err(PgError::Config {
                reason: "no user given".to_owned(),
            });
        }
        let source = Self { config };
        if source.config.get_ssl_mode() == SslMode::Require {
            return Err(PgError::TlsUnsupported {
                target: source.target(),
            });
        }
        Ok(source)
    }

    /// The same server and login, database `dbname`.
    pub fn with_database(&self, dbname: &str) -> Self {
        let mut config = self.config.clone();
        config.dbname(dbname);
        Self { config }
    }

    /// The same server and database, as `user` with `password` (if any).
    pub fn with_user(&self, user: &str, password: Option<&str>) -> Self {
        let mut config = self.config.clone();
        config.user(user);
        if let Some(password) = password {
            config.password(password);
        }
        Self { config }
    }

    /// The underlying configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The database name (the user's name when none is given, as libpq does).
    pub fn database(&self) -> &str {
        self.config
            .get_dbname()
            .or(self.config.get_user())
            .unwrap_or_default()
    }

    /// The user name.
    pub fn user(&self) -> &str {
        self.config.get_user().unwrap_or_default()
    }

    /// `host:port/database as user`, without the password, for messages.
    pub fn target(&self) -> String {
        let host = match self.config.get_hosts().first() {
            Some(Host::Tcp(host)) => host.clone(),
            Some(Host::Unix(path)) => path.display().to_string(),
            None => String::new(),
        };
        format!(
            "{host}:{}/{} as {}",
            self.port(),
            self.database(),
            self.user()
        )
    }

    fn port(&self) -> u16 {
        self.config.get_ports().first().copied().unwrap_or(5432)
    }

    /// Opens an SQL connection; its connection task runs on the current tokio runtime until
    /// the client is dropped.
    pub async fn connect(&self) -> Result<Client, PgError> {
        let (client, connection) =
            self.config
                .connect(NoTls)
                .await
                .map_err(|source| PgError::Connect {
                    target: self.target(),
                    source,
                })?;
        let target = self.target();
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%target, %error, "postgres connection ended");
            }
        });
        Ok(client)
    }

    /// The replication connection's settings for `slot` and `publication`.
    pub(crate) fn replication_config(&self, slot: &str, publication: &str) -> ReplicationConfig {
        let password = self
            .config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default();
        let config = match self.config.get_hosts().first() {
            Some(Host::Unix(path)) => ReplicationConfig::unix(
                path.display().to_string(),
                self.port(),
                self.user(),
                password,
                self.database(),
                slot,
                publication,
            ),
            Some(Host::Tcp(host)) => ReplicationConfig::new(
                host.clone(),
                self.user(),
                password,
                self.database(),
                slot,
                publication,
            )
            .with_port(self.port()),
            None => ReplicationConfig::new(
                "localhost",
                self.user(),
                password,
                self.database(),
                slot,
                publication,
            )
            .with_port(self.port()),
        }
        .with_tls(TlsConfig::disabled());
        match self.config.get_options() {
            Some(options) => config.with_options(options),
            None => config,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_and_hides_passwords() -> Result<(), PgError> {
        let source = PgSource::from_url("postgres://alice:secret@127.0.0.1:6543/app")?;
        assert_eq!(source.target(), "127.0.0.1:6543/app as alice");
        assert!(!format!("{source:?}").contains("secret"));
        let repl = source.replication_config("s", "p");
        assert_eq!(
            (
                repl.host.as_str(),
                repl.port,
                repl.user.as_str(),
                repl.password.as_str()
            ),
            ("127.0.0.1", 6543, "alice", "secret")
        );
        assert_eq!(repl.database, "app");
        let other = source.with_database("other");
        assert_eq!(other.database(), "other");
        assert_eq!(source.with_user("bob", None).user(), "bob");

        let unix = PgSource::from_url("host=/run/postgresql user=postgres")?;
        assert_eq!(unix.database(), "postgres");
        assert!(unix.replication_config("s", "p").is_unix_socket());
        Ok(())
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        assert!(matches!(
            PgSource::from_url("postgres://u@h/db?sslmode=require"),
            Err(PgError::TlsUnsupported { .. })
        ));
        assert!(matches!(
            PgSource::from_url("dbname=x user=u"),
            Err(PgError::Config { .. })
        ));
        assert!(matches!(
            PgSource::from_url("postgres://h/db"),
            Err(PgError::Config { .. })
        ));
        assert!(PgSource::from_url("not a url at all =").is_err());
    }
}
