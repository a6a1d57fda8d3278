//! The file's syntax: JSONC or TOML into one `serde_json::Value`, so that one schema checks
//! both.

use serde_json::Value;

use super::{ConfigError, Format};

pub(super) fn parse(text: &str, format: Format, file: &str) -> Result<Value, ConfigError> {
    match format {
        Format::Jsonc => parse_jsonc(text, file),
        Format::Toml => parse_toml(text, file),
    }
}

fn parse_jsonc(text: &str, file: &str) -> Result<Value, ConfigError> {
    let options = jsonc_parser::ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        // Wrangler does not accept unquoted keys; a file that works here must work there.
        allow_loose_object_property_names: false,
    };
    let collect = jsonc_parser::CollectOptions {
        comments: jsonc_parser::CommentCollectionStrategy::Off,
        tokens: true,
    };
    let parsed = jsonc_parser::parse_to_ast(text, &collect, &options).map_err(|err| {
        ConfigError::Syntax {
            file: file.to_owned(),
            line: err.line_display(),
            column: err.column_display(),
            message: lowercase_first(&err.kind().to_string()),
        }
    })?;
    if let Some(offset) = missing_comma(parsed.tokens.as_deref().unwrap_or_default()) {
        let (line, column) = line_and_column(text, offset);
        return Err(ConfigError::Syntax {
            file: file.to_owned(),
            line,
            column,
            message: "expected a comma before this value".to_owned(),
        });
    }
    match parsed.value {
        Some(value) => Ok(value.into()),
        None => Err(ConfigError::Syntax {
            file: file.to_owned(),
            line: 1,
            column: 1,
            message: "the file is empty; expected a JSON object such as \
                      { \"main\": \"src/index.js\", \"compatibility_date\": \"2025-04-01\" }"
                .to_owned(),
        }),
    }
}

/// jsonc-parser accepts values and properties that are not separated by commas
/// (`["a" "b"]`); Wrangler does not. Returns the byte offset of the first value (or
/// property) that directly follows another one.
fn missing_comma(tokens: &[jsonc_parser::tokens::TokenAndRange<'_>]) -> Option<usize> {
    use jsonc_parser::tokens::Token;
    let ends_value = |i: usize| match tokens[i].token {
        Token::CloseBrace | Token::CloseBracket => true,
        // A string or word followed by a colon is a property name, not a value.
        Token::String(_) | Token::Word(_) | Token::Boolean(_) | Token::Number(_) | Token::Null => {
            !matches!(tokens.get(i + 1).map(|t| &t.token), Some(Token::Colon))
        }
        _ => false,
    };
    let starts_value = |token: &Token<'_>| {
        matches!(
            token,
            Token::OpenBrace
                | Token::OpenBracket
                | Token::String(_)
                | Token::Word(_)
                | Token::Boolean(_)
                | Token::Number(_)
                | Token::Null
        )
    };
    (1..tokens.len())
        .find(|&i| ends_value(i - 1) && starts_value(&tokens[i].token))
        .map(|i| tokens[i].range.start)
}

fn parse_toml(text: &str, file: &str) -> Result<Value, ConfigError> {
    let table: toml::Table = toml::from_str(text).map_err(|err| {
        let (line, column) = err
            .span()
            .map(|span| line_and_column(text, span.start))
            .unwrap_or((1, 1));
        ConfigError::Syntax {
            file: file.to_owned(),
            line,
            column,
            message: lowercase_first(err.message().trim()),
        }
    })?;
    let mut path = String::new();
    toml_to_json(toml::Value::Table(table), &mut path).map_err(|message| {
        ConfigError::InvalidField {
            file: file.to_owned(),
            field: path.clone(),
            message,
        }
    })
}

/// Converts TOML to JSON. Dates and times become their TOML text (so that an unquoted
/// `compatibility_date = 2025-04-01` is the string `"2025-04-01"`). On error, `path` is left
/// pointing at the offending value.
fn toml_to_json(value: toml::Value, path: &mut String) -> Result<Value, String> {
    Ok(match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| format!("{f} cannot be represented in JSON; use a finite number"))?,
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(toml_to_json(item, path)?);
                path.truncate(len);
            }
            Value::Array(out)
        }
        toml::Value::Table(table) => {
            let mut out = serde_json::Map::new();
            for (key, item) in table {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&key);
                let converted = toml_to_json(item, path)?;
                path.truncate(len);
                out.insert(key, converted);
            }
            Value::Object(out)
        }
    })
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn lowercase_first(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_counts_characters_from_one() {
        let text = "ab\ncdé\nf";
        assert_eq!(line_and_column(text, 0), (1, 1));
        assert_eq!(line_and_column(text, 4), (2, 2));
        assert_eq!(line_and_column(text, text.find('f').unwrap()), (3, 1));
        assert_eq!(line_and_column(text, text.find('\n').unwrap() + 4), (2, 3));
    }
}
