//! Command-line values of a daemon run standalone (`cpe daemon NAME ...`).

/// The value of the option `p` just returned, as UTF-8 text; the error is
/// the line the daemon prints before exiting with status 2.
pub fn value(p: &mut lexopt::Parser) -> Result<String, String> {
    p.value()
        .map_err(|e| e.to_string())?
        .into_string()
        .map_err(|_| "argument is not UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::ffi::OsString;

    #[test]
    fn values_are_utf8_text_or_a_message() {
        let mut p = lexopt::Parser::from_args(["--interface", "wan0", "--hint"]);
        p.next().unwrap();
        assert_eq!(value(&mut p), Ok("wan0".to_string()));
        p.next().unwrap();
        assert_eq!(
            value(&mut p),
            Err("missing argument for option '--hint'".into())
        );
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            let bad = OsString::from_vec(vec![0xff]);
            let mut p = lexopt::Parser::from_args([OsString::from("--x"), bad]);
            p.next().unwrap();
            assert_eq!(value(&mut p), Err("argument is not UTF-8".into()));
        }
    }
}
