//! Query parameters of list, watch and log requests, parsed the way kube-apiserver reads them:
//! booleans as Go's `strconv.ParseBool` accepts them, integers in decimal, and empty pairs
//! (kube-rs sends `?&watch=true`) skipped.

use std::str::FromStr;

use crate::status::ApiError;

/// The decoded pairs of a query string, in order.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Decodes a raw query string.
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .filter(|(name, _)| !name.is_empty())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        Params { pairs }
    }

    /// Returns the decoded pairs.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Returns the first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Returns the first value of `name` unless it is empty.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|value| !value.is_empty())
    }

    /// Reads a boolean; absent means `None`.
    pub fn flag(&self, name: &str) -> Result<Option<bool>, ApiError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        match value {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(Some(true)),
            "0" | "f" | "F" | "false" | "FALSE" | "False" | "" => Ok(Some(false)),
            _ => Err(ApiError::bad_request(format!(
                "invalid value `{value}` for `{name}`: expected `true` or `false`"
            ))),
        }
    }

    /// Reads a decimal number; absent or empty means `None`.
    pub fn number<T: FromStr>(&self, name: &str) -> Result<Option<T>, ApiError> {
        let Some(value) = self.non_empty(name) else {
            return Ok(None);
        };
        value.parse().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "invalid value `{value}` for `{name}`: expected an integer"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_skips_empty_pairs() {
        let params = Params::parse(Some("&watch=true&labelSelector=app%3Dweb"));

        assert_eq!(params.pairs().len(), 2);
        assert_eq!(params.get("labelSelector"), Some("app=web"));
        assert_eq!(params.flag("watch").unwrap(), Some(true));
    }

    #[test]
    fn flag_rejects_other_words() {
        let params = Params::parse(Some("watch=yes&limit=x"));

        assert!(params.flag("watch").is_err());
        assert!(params.number::<i64>("limit").is_err());
        assert_eq!(params.flag("previous").unwrap(), None);
    }
}
