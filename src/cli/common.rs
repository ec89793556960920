//! Arguments shared by the commands that use the store: the database path and the time
//! window of `--since` and `--until`.

use std::path::PathBuf;

use jiff::{SignedDuration, Timestamp};

use crate::store::{SqliteStore, default_db_path};

/// Location of the store database.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DbArgs {
    /// SQLite database file. Default: `$XDG_DATA_HOME/podmortem/podmortem.db`, else
    /// `$HOME/.local/share/podmortem/podmortem.db`
    #[arg(long, value_name = "PATH", env = "PODMORTEM_DB")]
    pub db: Option<PathBuf>,
}

impl DbArgs {
    /// Returns the database path: `--db`, else `$PODMORTEM_DB`, else the XDG default.
    pub fn path(&self) -> anyhow::Result<PathBuf> {
        match &self.db {
            Some(path) => Ok(path.clone()),
            None => Ok(default_db_path()?),
        }
    }

    /// Opens the store for writing, creating the file and its folders when missing. The
    /// store's errors name the database path first, so no context is added.
    pub fn open_store(&self) -> anyhow::Result<SqliteStore> {
        Ok(SqliteStore::open(&self.path()?)?)
    }

    /// Opens a store that must already exist, for the commands that only read it: a missing
    /// file is an error that names the commands that fill it, and no empty file is created.
    pub fn open_existing_store(&self) -> anyhow::Result<SqliteStore> {
        let store = SqliteStore::open_existing(&self.path()?)?;
        if store.is_immutable() {
            eprintln!(
                "warning: `{}`: no write access, so the database is read as an immutable \
                 snapshot; changes that other processes make while this runs are not seen",
                store.path().display()
            );
        }
        Ok(store)
    }
}

/// One end of a time window, as given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBound {
    /// A duration before now (`24h`).
    Ago(SignedDuration),
    /// A fixed time (`2024-02-07T10:00:00Z`).
    At(Timestamp),
}

impl TimeBound {
    /// Returns the time this bound names, counting durations back from `now`.
    pub fn resolve(self, now: Timestamp) -> Result<Timestamp, Error> {
        match self {
            TimeBound::At(time) => Ok(time),
            TimeBound::Ago(duration) => now
                .checked_sub(duration)
                .map_err(|_| Error::OutOfRange { duration }),
        }
    }
}

/// Errors of the shared arguments.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "invalid time `{value}`: expected a duration before now such as `90s`, `30m`, `24h`, \
         `7d` or `1h30m`, or an RFC 3339 time such as `2024-02-07T10:00:00Z`"
    )]
    InvalidTime { value: String },

    #[error("duration `{duration}` reaches before the earliest time podmortem can represent")]
    OutOfRange { duration: SignedDuration },
}

/// Parses a workload written `KIND/NAME`, such as `Deployment/api`, or `Pod/NAME` for a pod
/// without an owner.
pub fn parse_workload(value: &str) -> Result<crate::model::Owner, String> {
    match value.split_once('/') {
        Some((kind, name)) if !kind.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok(crate::model::Owner {
                kind: kind.to_owned(),
                name: name.to_owned(),
            })
        }
        _ => Err("expected KIND/NAME, such as `Deployment/api` or `Pod/web-0`".to_owned()),
    }
}

/// Parses `--since` and `--until`: a duration made of whole numbers with the units `s`, `m`,
/// `h` and `d` (a day is 24 hours), or an RFC 3339 time with an offset.
pub fn parse_time_bound(value: &str) -> Result<TimeBound, Error> {
    let invalid = || Error::InvalidTime {
        value: value.to_owned(),
    };
    let trimmed = value.trim();

    if trimmed.starts_with(|first: char| first.is_ascii_digit())
        && trimmed.ends_with(['s', 'm', 'h', 'd'])
    {
        return parse_duration(trimmed)
            .map(TimeBound::Ago)
            .ok_or_else(invalid);
    }
    trimmed
        .parse::<Timestamp>()
        .map(TimeBound::At)
        .map_err(|_| invalid())
}

/// Parses `1h30m`-style durations; returns `None` on any other text or on overflow.
fn parse_duration(text: &str) -> Option<SignedDuration> {
    let mut total: i64 = 0;
    let mut number: Option<i64> = None;

    for character in text.chars() {
        if let Some(digit) = character.to_digit(10) {
            let value = number
                .unwrap_or(0)
                .checked_mul(10)?
                .checked_add(i64::from(digit))?;
            number = Some(value);
            continue;
        }
        let seconds = match character {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => return None,
        };
        total = total.checked_add(number.take()?.checked_mul(seconds)?)?;
    }

    if number.is_some() {
        return None;
    }
    Some(SignedDuration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn durations_and_times_parse() {
        let cases = [
            ("90s", TimeBound::Ago(SignedDuration::from_secs(90))),
            ("30m", TimeBound::Ago(SignedDuration::from_mins(30))),
            ("24h", TimeBound::Ago(SignedDuration::from_hours(24))),
            ("7d", TimeBound::Ago(SignedDuration::from_hours(7 * 24))),
            ("1h30m", TimeBound::Ago(SignedDuration::from_mins(90))),
            ("0s", TimeBound::Ago(SignedDuration::ZERO)),
            (
                "2024-02-07T10:00:00Z",
                TimeBound::At(at("2024-02-07T10:00:00Z")),
            ),
            (
                "2024-02-07T10:00:00+01:00",
                TimeBound::At(at("2024-02-07T09:00:00Z")),
            ),
            (
                "2024-02-07T10:00:00.5Z",
                TimeBound::At(at("2024-02-07T10:00:00.5Z")),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                parse_time_bound(input).unwrap(),
                expected,
                "input `{input}`"
            );
        }
    }

    #[test]
    fn invalid_time_bounds_are_rejected() {
        let cases = [
            "",
            "h",
            "24",
            "24x",
            "1.5h",
            "-1h",
            "24h ago",
            "1w",
            "yesterday",
            "2024-02-07",
            "2024-02-07T10:00:00",
            "99999999999999999999d",
            "9223372036854775807d",
        ];
        for input in cases {
            let error = parse_time_bound(input).unwrap_err();
            assert!(
                matches!(error, Error::InvalidTime { .. }),
                "input `{input}`"
            );
        }
    }

    #[test]
    fn invalid_time_message_lists_forms() {
        let message = parse_time_bound("yesterday").unwrap_err().to_string();
        assert!(message.contains("`yesterday`"), "{message}");
        assert!(message.contains("`24h`"), "{message}");
        assert!(message.contains("RFC 3339"), "{message}");
    }

    #[test]
    fn durations_resolve_before_now() {
        let now = at("2024-02-07T12:00:00Z");
        let bound = parse_time_bound("24h").unwrap();
        assert_eq!(bound.resolve(now).unwrap(), at("2024-02-06T12:00:00Z"));
    }

    #[test]
    fn huge_duration_is_out_of_range() {
        let now = at("2024-02-07T12:00:00Z");
        let bound = parse_time_bound("100000000d").unwrap();
        assert!(matches!(bound.resolve(now), Err(Error::OutOfRange { .. })));
    }
}
