//! Splitting SQL text into statements, the way SQLite's parser does, without preparing them.
//!
//! [`Database::sql_exec`](super::Database::sql_exec) must know which statement is the last
//! one (it gets the bindings and its rows are returned) before running the ones before it,
//! and a statement cannot be prepared before the ones before it ran (`CREATE TABLE t ...;
//! INSERT INTO t ...`). This is the state machine of SQLite's `sqlite3_complete()`: it knows
//! strings, quoted identifiers, comments, and the `;` inside `CREATE TRIGGER ... BEGIN ...
//! END`. Splitting decides only where statements end: each piece is still prepared and
//! checked by SQLite, so a mistake here can make a query fail but never bypass the
//! authorizer.

/// Token classes of `sqlite3_complete()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Semi = 0,
    Space = 1,
    Other = 2,
    Explain = 3,
    Create = 4,
    Temp = 5,
    Trigger = 6,
    End = 7,
}

/// The parser state after a complete statement.
const START: u8 = 1;

/// `sqlite3_complete()`'s transitions: `TRANSITIONS[state][token]`. States: 0 invalid (at the
/// beginning), 1 start (after a complete statement), 2 normal, 3 after `EXPLAIN`, 4 after
/// `CREATE`, 5 in a trigger body, 6 after `;` in a trigger body, 7 after `END` in a trigger
/// body.
const TRANSITIONS: [[u8; 8]; 8] = [
    //  ;  ws other explain create temp trigger end
    [1, 0, 2, 3, 4, 2, 2, 2], // 0 invalid
    [1, 1, 2, 3, 4, 2, 2, 2], // 1 start
    [1, 2, 2, 2, 2, 2, 2, 2], // 2 normal
    [1, 3, 3, 2, 4, 2, 2, 2], // 3 explain
    [1, 4, 2, 2, 2, 4, 5, 2], // 4 create
    [6, 5, 5, 5, 5, 5, 5, 5], // 5 trigger
    [6, 6, 5, 5, 5, 5, 5, 7], // 6 semicolon in a trigger
    [1, 7, 5, 5, 5, 5, 5, 5], // 7 end of a trigger
];

/// The statements of `sql`, in order. Each piece starts where the previous one ended (right
/// after its `;`), so SQLite's error offsets within a piece are what they would be when
/// preparing the rest of the text; empty statements (`;;`, comments) are folded into the
/// next piece, and trailing ones dropped. Text with no statement gives no pieces.
pub(super) fn statements(sql: &str) -> Vec<&str> {
    let bytes = sql.as_bytes();
    let mut pieces = Vec::new();
    let mut state = 0u8;
    let mut start = 0;
    let mut has_statement = false;
    let mut pos = 0;
    while pos < bytes.len() {
        let (token, end) = next_token(bytes, pos);
        state = TRANSITIONS[usize::from(state)][token as usize];
        match token {
            Token::Space => {}
            Token::Semi => {
                if state == START && has_statement {
                    // `end` is just after an ASCII `;`: a char boundary.
                    pieces.push(&sql[start..end]);
                    start = end;
                    has_statement = false;
                }
            }
            _ => has_statement = true,
        }
        pos = end;
    }
    if has_statement {
        pieces.push(&sql[start..]);
    }
    pieces
}

/// The token at `pos` and where it ends. Unterminated comments, strings and identifiers run
/// to the end of the text (SQLite then reports the error).
fn next_token(bytes: &[u8], pos: usize) -> (Token, usize) {
    let find = |from: usize, pattern: &[u8]| -> Option<usize> {
        bytes
            .get(from..)?
            .windows(pattern.len())
            .position(|w| w == pattern)
            .map(|i| from + i)
    };
    let len = bytes.len();
    match bytes[pos] {
        b';' => (Token::Semi, pos + 1),
        b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => (Token::Space, pos + 1),
        b'/' if bytes.get(pos + 1) == Some(&b'*') => {
            (Token::Space, find(pos + 2, b"*/").map_or(len, |i| i + 2))
        }
        b'-' if bytes.get(pos + 1) == Some(&b'-') => {
            (Token::Space, find(pos + 2, b"\n").map_or(len, |i| i + 1))
        }
        b'[' => (Token::Other, find(pos + 1, b"]").map_or(len, |i| i + 1)),
        quote @ (b'`' | b'"' | b'\'') => {
            (Token::Other, find(pos + 1, &[quote]).map_or(len, |i| i + 1))
        }
        c if is_id_char(c) => {
            let end = bytes[pos..]
                .iter()
                .position(|&c| !is_id_char(c))
                .map_or(len, |i| pos + i);
            let word = &bytes[pos..end];
            let token = [
                (&b"create"[..], Token::Create),
                (b"trigger", Token::Trigger),
                (b"temp", Token::Temp),
                (b"temporary", Token::Temp),
                (b"explain", Token::Explain),
                (b"end", Token::End),
            ]
            .into_iter()
            .find(|(keyword, _)| word.eq_ignore_ascii_case(keyword))
            .map_or(Token::Other, |(_, token)| token);
            (token, end)
        }
        _ => (Token::Other, pos + 1),
    }
}

/// SQLite's identifier characters: ASCII letters and digits, `_`, `$`, and every byte of a
/// non-ASCII character.
fn is_id_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

#[cfg(test)]
mod unit {
    use super::statements;

    #[test]
    fn splits_on_semicolons_outside_strings_identifiers_and_comments() {
        assert_eq!(statements("SELECT 1"), ["SELECT 1"]);
        assert_eq!(statements("SELECT 1;"), ["SELECT 1;"]);
        assert_eq!(
            statements("SELECT 1; SELECT 2;\nSELECT 3"),
            ["SELECT 1;", " SELECT 2;", "\nSELECT 3"]
        );
        assert_eq!(
            statements("SELECT ';', \"a;b\", [c;d], `e;f` -- g;h\n; SELECT 2 /* ; */"),
            [
                "SELECT ';', \"a;b\", [c;d], `e;f` -- g;h\n;",
                " SELECT 2 /* ; */"
            ]
        );
        assert_eq!(
            statements("SELECT 'it''s;'; SELECT 2"),
            ["SELECT 'it''s;';", " SELECT 2"]
        );
        assert_eq!(
            statements("SELECT 'é;';SELECT 2"),
            ["SELECT 'é;';", "SELECT 2"]
        );
    }

    #[test]
    fn empty_statements_fold_into_the_next_one_or_vanish() {
        assert!(statements("").is_empty());
        assert!(statements("  \n").is_empty());
        assert!(statements(";;  ;").is_empty());
        assert!(statements("-- just a comment").is_empty());
        assert!(statements("/* just a comment */ ; -- and another").is_empty());
        assert!(statements("/* unterminated").is_empty());
        assert_eq!(statements(";; SELECT 1;; "), [";; SELECT 1;"]);
        assert_eq!(statements("SELECT 1; -- trailing comment"), ["SELECT 1;"]);
    }

    #[test]
    fn trigger_bodies_stay_in_one_statement() {
        let trigger = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN \
                       INSERT INTO log VALUES (1); UPDATE t SET x = CASE WHEN 1 THEN 2 END; \
                       END;";
        assert_eq!(
            statements(&format!("{trigger} SELECT 1")),
            [trigger, " SELECT 1"]
        );
        let temp = "create temporary trigger tr after delete on t begin delete from u; end ;";
        assert_eq!(statements(&format!("{temp}select 2;")), [temp, "select 2;"]);
        let explain = "EXPLAIN CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END;";
        assert_eq!(statements(explain), [explain]);
        // Not a trigger: `trigger` as a table name.
        assert_eq!(
            statements("CREATE TABLE trigger (x); SELECT 1"),
            ["CREATE TABLE trigger (x);", " SELECT 1"]
        );
    }

    #[test]
    fn unterminated_tokens_run_to_the_end() {
        assert_eq!(
            statements("SELECT 'abc; SELECT 2"),
            ["SELECT 'abc; SELECT 2"]
        );
        assert_eq!(
            statements("SELECT [abc; SELECT 2"),
            ["SELECT [abc; SELECT 2"]
        );
        assert_eq!(
            statements("SELECT 1 /* x; SELECT 2"),
            ["SELECT 1 /* x; SELECT 2"]
        );
    }
}
