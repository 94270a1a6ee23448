//! Measures how much code `#[overlord]` generates, to keep it linear in the number of
//! subsystems (orchestra 0.4.1 expands to 1.48 MB at 48 subsystems, growing quadratically).

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::{format_ident, quote};

    /// A ring of `n` subsystems: subsystem `i` consumes `Msg{i}` and sends `Msg{i+1}`.
    fn ring(n: usize) -> (TokenStream, TokenStream) {
        let fields = (0..n).map(|i| {
            let field = format_ident!("sub{}", i);
            let ty = format_ident!("Sub{}", i);
            let consumes = format_ident!("Msg{}", i);
            let sends = format_ident!("Msg{}", (i + 1) % n);
            quote!(#[subsystem(consumes: #consumes, sends: [#sends])] #field: #ty)
        });
        let attr = quote!(signal = Signal, event = Event, gen = AllMessages);
        let item = quote!(pub struct Ring { #(#fields,)* baggage: u32 });
        (attr, item)
    }

    fn expanded_size(n: usize) -> usize {
        let (attr, item) = ring(n);
        let model = match crate::parse::overlord(attr, item) {
            Ok(model) => model,
            Err(error) => panic!("ring of {n} did not parse: {error}"),
        };
        if let Err(error) = crate::validate::overlord(&model) {
            panic!("ring of {n} did not validate: {error}");
        }
        crate::expand::overlord(&model).to_string().len()
    }

    const ORCHESTRA_BYTES_AT_48: usize = 1_480_000;

    #[test]
    fn expansion_at_48_subsystems_is_at_most_half_of_orchestras() {
        let sizes: Vec<(usize, usize)> = [2, 8, 24, 48]
            .into_iter()
            .map(|n| (n, expanded_size(n)))
            .collect();
        for (n, bytes) in &sizes {
            println!(
                "expansion of {n:>2} subsystems: {bytes:>8} bytes ({:.0} bytes per subsystem)",
                *bytes as f64 / *n as f64
            );
        }
        let at_48 = sizes[3].1;
        println!("at 48 subsystems: {at_48} bytes = {:.3} x orchestra 0.4.1 ({ORCHESTRA_BYTES_AT_48} bytes)", at_48 as f64 / ORCHESTRA_BYTES_AT_48 as f64);
        assert!(
            at_48 * 2 <= ORCHESTRA_BYTES_AT_48,
            "{at_48} bytes is more than half of orchestra's"
        );
    }

    #[test]
    fn expansion_grows_linearly_with_subsystems() {
        let at_24 = expanded_size(24);
        let at_48 = expanded_size(48);
        let ratio = at_48 as f64 / at_24 as f64;
        println!("48 vs 24 subsystems: {ratio:.3}x the code");
        // Linear growth doubles (minus the fixed part); quadratic growth would near 4x.
        assert!(
            ratio < 2.1,
            "doubling the subsystems multiplied the code by {ratio:.2}"
        );
    }
}
