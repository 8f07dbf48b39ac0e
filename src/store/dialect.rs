//! The store's SQL is written once, in SQLite's dialect; this rewrites it for PostgreSQL. The
//! differences are few and mechanical, and all of them are here:
//!
//! - parameters: `?1` becomes `$1` (a bare `?` takes the next number);
//! - types: `INTEGER` is 64-bit in SQLite, so `BIGINT`; `BLOB` is `BYTEA`; a text column is
//!   created `COLLATE "C"`, so text sorts by its bytes as in SQLite whatever the database's
//!   locale (the outbound files list rows in that order);
//! - `x IS ?1` (a value that may be NULL) is `IS NOT DISTINCT FROM`;
//! - `INSERT OR IGNORE` is `INSERT … ON CONFLICT DO NOTHING`;
//! - a chunk's keys, bound as one JSON array and read with `json_each(?1) k`, are read with
//!   `jsonb_array_elements_text` (or `jsonb_array_elements` when the rows are arrays, read with
//!   `k.value ->> 0` or `json_extract(k.value, '$[0]')`);
//! - date arithmetic `date(column, ?1)` with a modifier such as `+3 days` is an interval;
//! - `ORDER BY`: SQLite sorts NULL first ascending and last descending, PostgreSQL the other
//!   way round, so each term says which;
//! - a column's `REFERENCES parent(id)` is left out: PostgreSQL checks a reference by a trigger
//!   per inserted row that locks the parent row, which made two thirds of the time of a large
//!   file (issue 15: 100 000 invoices and their payments in 38 s with them, 17.6 s without);
//!   kravflyt writes rows with ids it decided under the one write lock, and `kravflyt verify`
//!   checks every reference of the schema on PostgreSQL (`store::maintenance`).

/// One piece of a statement.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// Spaces, newlines and comments: kept as they are.
    Space(String),
    /// A word: a keyword or an identifier.
    Word(String),
    /// A string literal or quoted identifier, quotes included.
    Quoted(String),
    /// `?` with its number (0 for a bare `?`).
    Param(usize),
    /// Anything else: a number, an operator, a parenthesis.
    Other(String),
}

fn tokenize(sql: &str) -> Vec<Token> {
    let chars: Vec<char> = sql.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            tokens.push(Token::Space(chars[start..i].iter().collect()));
        } else if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            tokens.push(Token::Space(chars[start..i].iter().collect()));
        } else if c == '\'' || c == '"' {
            i += 1;
            while i < chars.len() {
                if chars[i] == c {
                    // A doubled quote is a quote inside the literal.
                    if chars.get(i + 1) == Some(&c) {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
            tokens.push(Token::Quoted(chars[start..i].iter().collect()));
        } else if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Word(chars[start..i].iter().collect()));
        } else if c == '?' {
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits: String = chars[start + 1..i].iter().collect();
            tokens.push(Token::Param(digits.parse().unwrap_or(0)));
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            tokens.push(Token::Other(chars[start..i].iter().collect()));
        } else {
            i += 1;
            tokens.push(Token::Other(c.to_string()));
        }
    }
    tokens
}

fn is_word(token: &Token, word: &str) -> bool {
    matches!(token, Token::Word(w) if w.eq_ignore_ascii_case(word))
}

fn is_other(token: &Token, text: &str) -> bool {
    matches!(token, Token::Other(o) if o == text)
}

/// The index of the next token after `i` that is not a space.
fn next_solid(tokens: &[Token], i: usize) -> Option<usize> {
    (i + 1..tokens.len()).find(|&j| !matches!(tokens[j], Token::Space(_)))
}

/// `sql` (one statement or several separated by `;`) in PostgreSQL's dialect.
pub fn postgres(sql: &str) -> String {
    let tokens = tokenize(sql);
    let mut out = String::with_capacity(sql.len() + 64);
    for statement in tokens.split_inclusive(|t| is_other(t, ";")) {
        out.push_str(&statement_for_postgres(statement));
    }
    out
}

fn statement_for_postgres(tokens: &[Token]) -> String {
    let mut tokens = tokens.to_vec();
    let first_words: Vec<String> = tokens
        .iter()
        .filter_map(|t| match t {
            Token::Word(w) => Some(w.to_ascii_uppercase()),
            _ => None,
        })
        .take(2)
        .collect();
    let ddl = matches!(
        first_words.iter().map(String::as_str).collect::<Vec<_>>()[..],
        ["CREATE", "TABLE"] | ["ALTER", "TABLE"]
    );
    // A chunk's keys are rows of several values (`[sender, id]`) when the statement reads them
    // by position: then the elements stay JSON, otherwise they are read as text.
    let json_rows_are_arrays = {
        let solid: String = tokens
            .iter()
            .map(|t| match t {
                Token::Space(_) => "",
                Token::Word(w) | Token::Quoted(w) | Token::Other(w) => w.as_str(),
                Token::Param(_) => "?",
            })
            .collect();
        solid.contains("k.value->>") || solid.contains("json_extract(k.value")
    };

    let mut out: Vec<Token> = Vec::with_capacity(tokens.len() + 8);
    let mut next_param = 0;
    let mut ignore_conflicts = false;
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i].clone();
        match &token {
            Token::Param(n) => {
                let n = if *n == 0 { next_param + 1 } else { *n };
                next_param = n;
                out.push(Token::Other(format!("${n}")));
            }
            Token::Word(w) if w.eq_ignore_ascii_case("INTEGER") => {
                out.push(Token::Word("BIGINT".to_owned()))
            }
            Token::Word(w) if w.eq_ignore_ascii_case("BLOB") => {
                out.push(Token::Word("BYTEA".to_owned()))
            }
            Token::Word(w) if ddl && w.eq_ignore_ascii_case("REFERENCES") => {
                // REFERENCES parent(column): skipped with its parent and column list.
                let mut j = next_solid(&tokens, i).unwrap_or(tokens.len());
                if let Some(open) = next_solid(&tokens, j).filter(|&k| is_other(&tokens[k], "(")) {
                    j = (open..tokens.len())
                        .find(|&k| is_other(&tokens[k], ")"))
                        .unwrap_or(tokens.len() - 1);
                }
                // The space before `REFERENCES` stays, so drop it from the output.
                if matches!(out.last(), Some(Token::Space(_))) {
                    out.pop();
                }
                i = j + 1;
                continue;
            }
            Token::Word(w) if ddl && w.eq_ignore_ascii_case("TEXT") => {
                out.push(token.clone());
                out.push(Token::Other(" COLLATE \"C\"".to_owned()));
            }
            Token::Word(w) if w.eq_ignore_ascii_case("IS") => {
                // `IS ?n` / `IS NOT ?n`: a comparison that treats NULL as a value.
                let after = next_solid(&tokens, i);
                let (negated, value_at) = match after {
                    Some(j) if is_word(&tokens[j], "NOT") => (true, next_solid(&tokens, j)),
                    other => (false, other),
                };
                match value_at.map(|j| &tokens[j]) {
                    Some(Token::Param(_)) => {
                        out.push(Token::Other(
                            if negated {
                                "IS DISTINCT FROM "
                            } else {
                                "IS NOT DISTINCT FROM "
                            }
                            .to_owned(),
                        ));
                        i = value_at.unwrap_or(i + 1);
                        continue;
                    }
                    _ => out.push(token.clone()),
                }
            }
            Token::Word(w)
                if w.eq_ignore_ascii_case("OR")
                    && out
                        .iter()
                        .all(|t| matches!(t, Token::Space(_)) || is_word(t, "INSERT")) =>
            {
                // `INSERT OR IGNORE`: drop `OR IGNORE`, add `ON CONFLICT DO NOTHING` at the end.
                if let Some(j) = next_solid(&tokens, i).filter(|&j| is_word(&tokens[j], "IGNORE")) {
                    ignore_conflicts = true;
                    // The space before `OR` stays; the one after `IGNORE` goes with it.
                    i = j + 1;
                    if matches!(tokens.get(i), Some(Token::Space(_))) {
                        i += 1;
                    }
                    continue;
                }
                out.push(token.clone());
            }
            Token::Word(w) if w.eq_ignore_ascii_case("json_each") => {
                // json_each(?n) → jsonb_array_elements[_text](CAST(CAST($n AS text) AS jsonb)) AS k(value)
                let open = next_solid(&tokens, i);
                let param = open.and_then(|j| next_solid(&tokens, j));
                let close = param.and_then(|j| next_solid(&tokens, j));
                let alias = close.and_then(|j| next_solid(&tokens, j));
                if let (Some(open), Some(p), Some(close), Some(alias)) = (open, param, close, alias)
                    && is_other(&tokens[open], "(")
                    && is_other(&tokens[close], ")")
                    && let (Token::Param(n), Token::Word(alias_name)) = (&tokens[p], &tokens[alias])
                {
                    let n = if *n == 0 { next_param + 1 } else { *n };
                    next_param = n;
                    let function = if json_rows_are_arrays {
                        "jsonb_array_elements"
                    } else {
                        "jsonb_array_elements_text"
                    };
                    out.push(Token::Other(format!(
                        "{function}(CAST(CAST(${n} AS text) AS jsonb)) AS {alias_name}(value)"
                    )));
                    i = alias + 1;
                    continue;
                }
                out.push(token.clone());
            }
            Token::Word(w) if w.eq_ignore_ascii_case("json_extract") => {
                // json_extract(x.value, '$[n]') → (x.value ->> n)
                let window: Vec<usize> =
                    std::iter::successors(Some(i), |&j| next_solid(&tokens, j))
                        .skip(1)
                        .take(7)
                        .collect();
                if let [open, table, dot, column, comma, path, close] = window[..]
                    && is_other(&tokens[open], "(")
                    && is_other(&tokens[dot], ".")
                    && is_other(&tokens[comma], ",")
                    && is_other(&tokens[close], ")")
                    && let (Token::Word(table), Token::Word(column), Token::Quoted(path)) =
                        (&tokens[table], &tokens[column], &tokens[path])
                    && let Some(index) = path.strip_prefix("'$[").and_then(|p| p.strip_suffix("]'"))
                {
                    out.push(Token::Other(format!("({table}.{column} ->> {index})")));
                    i = close + 1;
                    continue;
                }
                out.push(token.clone());
            }
            Token::Word(w) if w.eq_ignore_ascii_case("date") => {
                // date(column, ?n) with a modifier such as '+3 days'.
                let window: Vec<usize> =
                    std::iter::successors(Some(i), |&j| next_solid(&tokens, j))
                        .skip(1)
                        .take(5)
                        .collect();
                if let [open, column, comma, param, close] = window[..]
                    && is_other(&tokens[open], "(")
                    && is_other(&tokens[comma], ",")
                    && is_other(&tokens[close], ")")
                    && let (Token::Word(column), Token::Param(n)) =
                        (&tokens[column], &tokens[param])
                {
                    let n = if *n == 0 { next_param + 1 } else { *n };
                    next_param = n;
                    out.push(Token::Other(format!(
                        "to_char(CAST({column} AS date) + CAST(CAST(${n} AS text) AS interval), 'YYYY-MM-DD')"
                    )));
                    i = close + 1;
                    continue;
                }
                out.push(token.clone());
            }
            Token::Word(w) if w.eq_ignore_ascii_case("CROSS") => {
                // SQLite's `CROSS JOIN t ON …` (an inner join whose order the planner keeps)
                // is a plain `JOIN` to PostgreSQL, which refuses a condition on a cross join.
                let window: Vec<usize> =
                    std::iter::successors(Some(i), |&j| next_solid(&tokens, j))
                        .skip(1)
                        .take(4)
                        .collect();
                let has_condition = match window[..] {
                    [join, _, on, ..]
                        if is_word(&tokens[join], "JOIN") && is_word(&tokens[on], "ON") =>
                    {
                        true
                    }
                    [join, _, _, on] => {
                        is_word(&tokens[join], "JOIN") && is_word(&tokens[on], "ON")
                    }
                    _ => false,
                };
                if has_condition {
                    i = window[0];
                    continue;
                }
                out.push(token.clone());
            }
            Token::Word(w) if w.eq_ignore_ascii_case("ORDER") => {
                if let Some(by) = next_solid(&tokens, i).filter(|&j| is_word(&tokens[j], "BY")) {
                    out.extend(tokens[i..=by].iter().cloned());
                    i = by + 1;
                    let end = order_by_end(&tokens, i);
                    out.extend(order_terms_with_nulls(&tokens[i..end]));
                    i = end;
                    continue;
                }
                out.push(token.clone());
            }
            _ => out.push(token.clone()),
        }
        i += 1;
    }
    if ignore_conflicts {
        // Before the statement's closing `;` and the spaces in front of it, if any.
        let mut at = out.len();
        while at > 0 && (matches!(out[at - 1], Token::Space(_)) || is_other(&out[at - 1], ";")) {
            at -= 1;
        }
        out.insert(at, Token::Other(" ON CONFLICT DO NOTHING".to_owned()));
    }
    tokens.clear();
    out.iter()
        .map(|t| match t {
            Token::Space(s) | Token::Word(s) | Token::Quoted(s) | Token::Other(s) => s.as_str(),
            Token::Param(_) => unreachable!("parameters are rewritten above"),
        })
        .collect()
}

/// Where the terms of an `ORDER BY` starting at `from` end: at `LIMIT`, `OFFSET`, a `)` closing
/// the enclosing parenthesis, a `;`, or the end.
fn order_by_end(tokens: &[Token], from: usize) -> usize {
    let mut depth = 0usize;
    for (j, token) in tokens.iter().enumerate().skip(from) {
        if is_other(token, "(") {
            depth += 1;
        } else if is_other(token, ")") {
            if depth == 0 {
                return j;
            }
            depth -= 1;
        } else if depth == 0
            && (is_word(token, "LIMIT") || is_word(token, "OFFSET") || is_other(token, ";"))
        {
            return j;
        }
    }
    tokens.len()
}

/// `ORDER BY` terms with SQLite's placement of NULL said outright.
fn order_terms_with_nulls(terms: &[Token]) -> Vec<Token> {
    let mut out = Vec::with_capacity(terms.len() + 4);
    let mut depth = 0usize;
    let mut term: Vec<Token> = Vec::new();
    let finish = |term: &mut Vec<Token>, out: &mut Vec<Token>| {
        let trailing_space = match term.last() {
            Some(Token::Space(_)) => term.pop(),
            _ => None,
        };
        let mut words = term.iter().filter(|t| !matches!(t, Token::Space(_)));
        let said = words.clone().any(|t| is_word(t, "NULLS"));
        let descending = words
            .clone()
            .next_back()
            .is_some_and(|t| is_word(t, "DESC"));
        let empty = words.next().is_none();
        out.append(term);
        if !said && !empty {
            out.push(Token::Other(
                if descending {
                    " NULLS LAST"
                } else {
                    " NULLS FIRST"
                }
                .to_owned(),
            ));
        }
        out.extend(trailing_space);
    };
    for token in terms {
        if is_other(token, "(") {
            depth += 1;
        } else if is_other(token, ")") {
            depth = depth.saturating_sub(1);
        }
        if depth == 0 && is_other(token, ",") {
            finish(&mut term, &mut out);
            out.push(token.clone());
            continue;
        }
        // Parameters inside a term are left for the caller; there are none in practice.
        term.push(match token {
            Token::Param(n) => Token::Other(format!("${n}")),
            other => other.clone(),
        });
    }
    finish(&mut term, &mut out);
    out
}

/// `sql` (PostgreSQL's text) with each `$n` outside quotes replaced by the literal of
/// `values[n - 1]`, for a cursor's query, which takes no parameters. Every literal is quoted
/// (an integer too): an untyped literal takes the type its place asks for, as a parameter does.
pub fn inline_parameters(sql: &str, values: &[super::db::Value<'_>]) -> String {
    use super::db::Value;
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len() + 16 * values.len());
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
                i += 1;
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
                i += 1;
            }
            None if c == '$' && chars.get(i + 1).is_some_and(char::is_ascii_digit) => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && chars[end].is_ascii_digit() {
                    end += 1;
                }
                let n: usize = chars[start..end]
                    .iter()
                    .collect::<String>()
                    .parse()
                    .unwrap_or(0);
                match n.checked_sub(1).and_then(|k| values.get(k)) {
                    None | Some(Value::Null) => out.push_str("NULL"),
                    Some(Value::Integer(v)) => out.push_str(&format!("'{v}'")),
                    Some(Value::Text(t)) => {
                        out.push('\'');
                        out.push_str(&t.replace('\'', "''"));
                        out.push('\'');
                    }
                    Some(Value::Blob(b)) => {
                        out.push_str("'\\x");
                        for byte in b.iter() {
                            out.push_str(&format!("{byte:02x}"));
                        }
                        out.push('\'');
                    }
                }
                i = end;
            }
            None => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::postgres;

    #[test]
    fn a_cursors_query_gets_its_values_written_in() {
        use crate::store::db::Value;
        assert_eq!(
            super::inline_parameters(
                "SELECT a FROM t WHERE b = $1 AND c = $2 AND d = '$1' AND e IS NOT DISTINCT FROM $3 AND f = $10",
                &[
                    Value::Integer(-5),
                    Value::Text("O'Brien".into()),
                    Value::Null,
                ]
            ),
            "SELECT a FROM t WHERE b = '-5' AND c = 'O''Brien' AND d = '$1' AND e IS NOT DISTINCT FROM NULL AND f = NULL"
        );
    }

    #[test]
    fn numbered_and_bare_parameters_become_dollar_parameters() {
        assert_eq!(
            postgres("SELECT a FROM t WHERE b = ?1 AND c = ?2 AND d = '?3'"),
            "SELECT a FROM t WHERE b = $1 AND c = $2 AND d = '?3'"
        );
        assert_eq!(postgres("VALUES (?, ?)"), "VALUES ($1, $2)");
    }

    #[test]
    fn tables_get_sixty_four_bit_integers_bytes_and_byte_ordered_text() {
        assert_eq!(
            postgres("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, b BLOB);"),
            "CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT COLLATE \"C\" NOT NULL, b BYTEA);"
        );
        assert_eq!(
            postgres("ALTER TABLE t ADD COLUMN note TEXT"),
            "ALTER TABLE t ADD COLUMN note TEXT COLLATE \"C\""
        );
        // Outside a table's definition a text stays a text.
        assert_eq!(
            postgres("SELECT CAST(a AS TEXT) FROM t"),
            "SELECT CAST(a AS TEXT) FROM t"
        );
    }

    #[test]
    fn references_are_left_to_verify() {
        assert_eq!(
            postgres(
                "CREATE TABLE p (id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL REFERENCES cases(id),\n    note TEXT REFERENCES notes (id));"
            ),
            "CREATE TABLE p (id BIGINT PRIMARY KEY, case_id BIGINT NOT NULL,\n    note TEXT COLLATE \"C\");"
        );
    }

    #[test]
    fn is_with_a_parameter_compares_null_as_a_value() {
        assert_eq!(
            postgres("WHERE c.creditor_id IS ?2 AND x IS NULL AND y IS NOT ?3"),
            "WHERE c.creditor_id IS NOT DISTINCT FROM $2 AND x IS NULL AND y IS DISTINCT FROM $3"
        );
    }

    #[test]
    fn insert_or_ignore_becomes_on_conflict_do_nothing_per_statement() {
        assert_eq!(
            postgres(
                "INSERT OR IGNORE INTO d (day) VALUES (?1);\nINSERT OR IGNORE INTO d (day) SELECT x FROM y;\n"
            ),
            "INSERT INTO d (day) VALUES ($1) ON CONFLICT DO NOTHING;\nINSERT INTO d (day) SELECT x FROM y ON CONFLICT DO NOTHING;\n"
        );
    }

    #[test]
    fn json_keys_become_jsonb_elements() {
        assert_eq!(
            postgres("SELECT c.id FROM json_each(?1) k JOIN cases c ON c.reference = k.value"),
            "SELECT c.id FROM jsonb_array_elements_text(CAST(CAST($1 AS text) AS jsonb)) AS k(value) JOIN cases c ON c.reference = k.value"
        );
        assert_eq!(
            postgres(
                "FROM json_each(?1) k JOIN payments p ON p.sender = k.value ->> 0 AND p.payment_id = k.value ->> 1"
            ),
            "FROM jsonb_array_elements(CAST(CAST($1 AS text) AS jsonb)) AS k(value) JOIN payments p ON p.sender = k.value ->> 0 AND p.payment_id = k.value ->> 1"
        );
        assert_eq!(
            postgres(
                "FROM json_each(?1) k JOIN invoices i ON i.creditor_id = json_extract(k.value, '$[0]')"
            ),
            "FROM jsonb_array_elements(CAST(CAST($1 AS text) AS jsonb)) AS k(value) JOIN invoices i ON i.creditor_id = (k.value ->> 0)"
        );
    }

    #[test]
    fn a_cross_join_with_a_condition_is_a_join() {
        assert_eq!(
            postgres("FROM json_each(?1) k\n CROSS JOIN debtors d ON d.id = k.value"),
            "FROM jsonb_array_elements_text(CAST(CAST($1 AS text) AS jsonb)) AS k(value)\n JOIN debtors d ON d.id = k.value"
        );
        assert_eq!(postgres("FROM a CROSS JOIN b"), "FROM a CROSS JOIN b");
    }

    #[test]
    fn date_arithmetic_uses_an_interval() {
        assert_eq!(
            postgres("SET deadline = date(deadline, ?3)"),
            "SET deadline = to_char(CAST(deadline AS date) + CAST(CAST($3 AS text) AS interval), 'YYYY-MM-DD')"
        );
    }

    #[test]
    fn order_by_places_null_where_sqlite_does() {
        assert_eq!(
            postgres("SELECT a FROM t ORDER BY a, b DESC, lower(c) ASC LIMIT 5"),
            "SELECT a FROM t ORDER BY a NULLS FIRST, b DESC NULLS LAST, lower(c) ASC NULLS FIRST LIMIT 5"
        );
        assert_eq!(
            postgres("SELECT (SELECT x FROM u ORDER BY y) FROM t ORDER BY id\n"),
            "SELECT (SELECT x FROM u ORDER BY y NULLS FIRST) FROM t ORDER BY id NULLS FIRST\n"
        );
    }
}
