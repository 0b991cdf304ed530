//! The `.npy` header is a Python literal (`{'descr': '<f4', 'fortran_order': False, 'shape':
//! (2, 3), }`) that NumPy reads with `ast.literal_eval` and then checks: exactly the keys
//! `descr`, `fortran_order` and `shape`, a bool, a tuple of ints. This is a small parser of the
//! literals NumPy's headers can hold (strings, ints, True/False/None, tuples, lists, dicts), so a
//! key is found where Python finds it — never inside another value's string — and what NumPy
//! refuses is refused. Ints are kept exactly up to `i128`; larger ones are an error naming them.

use std::collections::BTreeMap;

/// A Python literal value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
}

/// The three fields NumPy requires, checked as NumPy checks them.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub descr: String,
    pub fortran_order: bool,
    pub shape: Vec<i128>,
}

/// Parses and checks a header's text.
pub fn parse(text: &str) -> Result<Header, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        at: 0,
    };
    p.skip_space();
    let v = p.value(0)?;
    p.skip_space();
    if p.at < p.s.len() {
        return Err(format!(
            "unexpected text after the header dict at offset {}",
            p.at
        ));
    }
    let Value::Dict(items) = v else {
        return Err("header is not a dict".into());
    };
    // Python's dict keeps the last of repeated keys, and NumPy then reads that one.
    let mut d: BTreeMap<String, Value> = BTreeMap::new();
    for (k, v) in items {
        let Value::Str(k) = k else {
            return Err("header dict has a key that is not a string".into());
        };
        d.insert(k, v);
    }
    let keys: Vec<&str> = d.keys().map(String::as_str).collect();
    if keys != ["descr", "fortran_order", "shape"] {
        return Err(format!(
            "header keys are {keys:?}, not exactly 'descr', 'fortran_order' and 'shape'"
        ));
    }
    let descr = match &d["descr"] {
        Value::Str(s) => s.clone(),
        Value::List(_) => return Err("structured dtypes are not supported".into()),
        v => return Err(format!("'descr' is {v:?}, not a dtype string")),
    };
    let fortran_order = match d["fortran_order"] {
        Value::Bool(b) => b,
        ref v => return Err(format!("'fortran_order' is {v:?}, not True or False")),
    };
    let Value::Tuple(dims) = &d["shape"] else {
        return Err(format!("'shape' is {:?}, not a tuple of ints", d["shape"]));
    };
    let shape = dims
        .iter()
        .map(|v| match v {
            // Python's bool is an int, and NumPy takes it as one.
            Value::Int(i) => Ok(*i),
            Value::Bool(b) => Ok(*b as i128),
            v => Err(format!("'shape' holds {v:?}, not an int")),
        })
        .collect::<Result<_, _>>()?;
    Ok(Header {
        descr,
        fortran_order,
        shape,
    })
}

/// Nesting deeper than this is refused (a header is a flat dict; this bounds the recursion).
const MAX_DEPTH: usize = 32;

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn err(&self, what: &str) -> String {
        match self.text.get(self.at..).and_then(|r| r.chars().next()) {
            Some(c) => format!("{what} at header offset {} (found {c:?})", self.at),
            None => format!("{what} at the end of the header"),
        }
    }

    /// Whitespace and `#` comments (both legal inside Python's brackets).
    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => self.at += 1,
                b'#' => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.at += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err("header nests too deeply".into());
        }
        self.skip_space();
        match self.peek() {
            Some(b'{') => self.dict(depth),
            Some(b'(') => {
                let (items, trailing_comma) = self.seq(b')', depth)?;
                Ok(match items.len() {
                    // `(x)` is x itself; `(x,)` and `()` are tuples.
                    1 if !trailing_comma => items.into_iter().next().unwrap_or(Value::None),
                    _ => Value::Tuple(items),
                })
            }
            Some(b'[') => Ok(Value::List(self.seq(b']', depth)?.0)),
            Some(b'\'' | b'"') => self.string(),
            Some(b'-' | b'+') => {
                let neg = self.peek() == Some(b'-');
                self.at += 1;
                match self.value(depth + 1)? {
                    Value::Int(i) => Ok(Value::Int(if neg { -i } else { i })),
                    Value::Bool(b) => Ok(Value::Int(if neg { -(b as i128) } else { b as i128 })),
                    _ => Err(self.err("a sign before something that is not a number")),
                }
            }
            Some(c) if c.is_ascii_digit() => self.int(),
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.at;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    self.at += 1;
                }
                match &self.text[start..self.at] {
                    "True" => Ok(Value::Bool(true)),
                    "False" => Ok(Value::Bool(false)),
                    "None" => Ok(Value::None),
                    name => Err(format!("'{name}' is not a Python literal")),
                }
            }
            _ => Err(self.err("expected a value")),
        }
    }

    /// Items up to `close`, comma-separated, a trailing comma allowed; and whether there was one.
    fn seq(&mut self, close: u8, depth: usize) -> Result<(Vec<Value>, bool), String> {
        self.at += 1;
        let mut items = Vec::new();
        let mut trailing = false;
        loop {
            self.skip_space();
            if self.peek() == Some(close) {
                self.at += 1;
                return Ok((items, trailing));
            }
            if !items.is_empty() && !trailing {
                return Err(self.err("expected ',' or a closing bracket"));
            }
            items.push(self.value(depth + 1)?);
            self.skip_space();
            trailing = self.peek() == Some(b',');
            if trailing {
                self.at += 1;
            }
        }
    }

    fn dict(&mut self, depth: usize) -> Result<Value, String> {
        self.at += 1;
        let mut items = Vec::new();
        loop {
            self.skip_space();
            if self.peek() == Some(b'}') {
                self.at += 1;
                return Ok(Value::Dict(items));
            }
            let key = self.value(depth + 1)?;
            self.skip_space();
            if self.peek() != Some(b':') {
                return Err(self.err("expected ':' after a dict key"));
            }
            self.at += 1;
            let value = self.value(depth + 1)?;
            items.push((key, value));
            self.skip_space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {}
                _ => return Err(self.err("expected ',' or '}' in the header dict")),
            }
        }
    }

    /// A single- or double-quoted string with Python's simple escapes.
    fn string(&mut self) -> Result<Value, String> {
        let quote = self.s[self.at];
        if self.s[self.at..].starts_with(&[quote; 3]) {
            return Err(self.err("triple-quoted strings are not supported"));
        }
        self.at += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.text.get(self.at..).and_then(|r| r.chars().next()) else {
                return Err("unterminated string in the header".into());
            };
            self.at += c.len_utf8();
            match c {
                '\n' => return Err("unterminated string in the header".into()),
                c if c as u32 == quote as u32 => return Ok(Value::Str(out)),
                '\\' => {
                    let e = self.peek().ok_or("unterminated string in the header")?;
                    self.at += 1;
                    out.push(match e {
                        b'\\' => '\\',
                        b'\'' => '\'',
                        b'"' => '"',
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'0' => '\0',
                        _ => return Err(self.err("unsupported escape in a header string")),
                    });
                }
                c => out.push(c),
            }
        }
    }

    /// A decimal (or 0x/0o/0b) int with optional underscores; an error when it passes i128.
    fn int(&mut self) -> Result<Value, String> {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.at += 1;
        }
        let lit = &self.text[start..self.at];
        let digits = lit.replace('_', "");
        let (radix, body) = match digits.get(..2).map(str::to_ascii_lowercase).as_deref() {
            Some("0x") => (16, &digits[2..]),
            Some("0o") => (8, &digits[2..]),
            Some("0b") => (2, &digits[2..]),
            _ => (10, &digits[..]),
        };
        let decimal_ok =
            radix != 10 || body == "0" || !body.starts_with('0') || body.bytes().all(|b| b == b'0');
        let valid = !body.is_empty()
            && decimal_ok
            && !lit.starts_with('_')
            && !lit.ends_with('_')
            && !lit.contains("__")
            && body.chars().all(|c| c.is_digit(radix));
        if !valid {
            return Err(format!("'{lit}' is not a Python int"));
        }
        i128::from_str_radix(body, radix)
            .map(Value::Int)
            .map_err(|_| format!("the int {lit} in the header is too large"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(text: &str) -> Result<Header, String> {
        parse(text)
    }

    #[test]
    fn reads_what_numpy_writes() {
        let got =
            h("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }          \n").unwrap();
        assert_eq!(got.descr, "<f4");
        assert!(!got.fortran_order);
        assert_eq!(got.shape, [2, 3]);
        assert_eq!(
            h("{'descr':'<f8','fortran_order':True,'shape':(5,)}")
                .unwrap()
                .shape,
            [5]
        );
        assert_eq!(
            h("{'shape': (), 'descr': \"<f4\", 'fortran_order': False}")
                .unwrap()
                .shape,
            Vec::<i128>::new()
        );
        assert_eq!(
            h("{'descr':'<f4','fortran_order':False,'shape':(0x10, 1_000)}")
                .unwrap()
                .shape,
            [16, 1000]
        );
    }

    #[test]
    fn a_key_inside_a_string_is_not_a_key() {
        // The old reader took the first textual 'descr' wherever it stood.
        let e =
            h("{'fortran_order': False, 'shape': (1,), 'x': \"'descr': '<f4'\", 'descr': '<i4'}");
        assert!(e.unwrap_err().contains("keys"));
        let got = h("{'descr': '<i4', 'fortran_order': True, 'shape': (2,)}").unwrap();
        assert_eq!((got.descr.as_str(), got.fortran_order), ("<i4", true));
    }

    #[test]
    fn refuses_what_numpy_refuses() {
        for bad in [
            "",
            "{",
            "{'descr': '<f4', 'fortran_order': False}",
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': [1]}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk",
            "{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (01,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999999999999999999999,)}",
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}",
            "{'descr': '<f4', 'fortran_order': Fals, 'shape': (1,)}",
        ] {
            assert!(h(bad).is_err(), "{bad}");
        }
        let deep = "(".repeat(10_000);
        assert!(h(&deep).is_err());
    }
}
