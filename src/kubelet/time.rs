//! A fast parser for the RFC 3339 timestamps that container runtimes write at the start of every
//! CRI log record.
//!
//! containerd writes UTC with a `Z` suffix and nine fraction digits
//! (`2024-03-01T10:00:00.000000001Z`); CRI-O writes a numeric offset (`+00:00`). Kubelet parses
//! both with Go's `time.RFC3339Nano` layout (`pkg/kubelet/kuberuntime/logs/logs.go`). Parsing
//! every record through a general date library costs more than the rest of the line, so this
//! module reads the fixed layout by hand and only builds the [`Timestamp`] at the end.

use jiff::Timestamp;

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±hh:mm)`, with 1 to 9 fraction digits.
///
/// Returns `None` for anything else, including out-of-range fields such as month 13.
pub fn parse_rfc3339(text: &[u8]) -> Option<Timestamp> {
    let (date_time, rest) = text.split_at_checked(19)?;
    let seconds = parse_date_time(date_time)?;

    let (nanoseconds, rest) = parse_fraction(rest)?;

    let offset = parse_offset(rest)?;

    Timestamp::new(seconds - offset, nanoseconds).ok()
}

/// Returns the seconds since the Unix epoch of `YYYY-MM-DDTHH:MM:SS`, read as UTC.
fn parse_date_time(text: &[u8]) -> Option<i64> {
    let [
        y1,
        y2,
        y3,
        y4,
        b'-',
        m1,
        m2,
        b'-',
        d1,
        d2,
        b'T' | b't',
        h1,
        h2,
        b':',
        i1,
        i2,
        b':',
        s1,
        s2,
    ] = *text
    else {
        return None;
    };

    let year = two_digits(y1, y2)? * 100 + two_digits(y3, y4)?;
    let month = two_digits(m1, m2)?;
    let day = two_digits(d1, d2)?;
    let hour = two_digits(h1, h2)?;
    let minute = two_digits(i1, i2)?;
    let second = two_digits(s1, s2)?;
    let fields_valid = (1..=12).contains(&month)
        && day >= 1
        && day <= days_in_month(year, month)
        && hour < 24
        && minute < 60
        && second < 60;
    if !fields_valid {
        return None;
    }

    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// Reads two ASCII digits.
fn two_digits(tens: u8, ones: u8) -> Option<i64> {
    let tens = tens.wrapping_sub(b'0');
    let ones = ones.wrapping_sub(b'0');
    (tens < 10 && ones < 10).then(|| i64::from(tens * 10 + ones))
}

/// Splits an optional `.fraction` off the front of `text` and returns it in nanoseconds.
fn parse_fraction(text: &[u8]) -> Option<(i32, &[u8])> {
    let Some(digits_and_rest) = text.strip_prefix(b".") else {
        return Some((0, text));
    };

    let mut nanoseconds = 0i64;
    let mut count = 0;
    for byte in digits_and_rest.iter().take(10) {
        let digit = byte.wrapping_sub(b'0');
        if digit >= 10 {
            break;
        }
        nanoseconds = nanoseconds * 10 + i64::from(digit);
        count += 1;
    }
    if !(1..=9).contains(&count) {
        return None;
    }

    let scale = 10i64.pow(9 - count as u32);
    let nanoseconds = i32::try_from(nanoseconds * scale).ok()?;
    Some((nanoseconds, &digits_and_rest[count..]))
}

/// Reads `Z` or `±hh:mm` (the whole remaining text) and returns the offset east of UTC in
/// seconds.
fn parse_offset(text: &[u8]) -> Option<i64> {
    match text {
        [b'Z' | b'z'] => Some(0),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = two_digits(*h1, *h2)?;
            let minutes = two_digits(*m1, *m2)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 3_600 + minutes * 60;
            Some(if *sign == b'-' { -offset } else { offset })
        }
        _ => None,
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Returns the number of days from 1970-01-01 to the given proleptic Gregorian date, by the
/// era-based method (a 400-year era has exactly 146097 days).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn containerd_and_crio_forms_agree() {
        let containerd = parse_rfc3339(b"2024-03-01T10:00:00.000000001Z");
        let crio = parse_rfc3339(b"2024-03-01T12:00:00.000000001+02:00");

        assert!(containerd.is_some());
        assert_eq!(containerd, crio);
        assert_eq!(containerd, "2024-03-01T10:00:00.000000001Z".parse().ok());
    }

    #[test]
    fn invalid_timestamps_are_rejected() {
        let invalid: &[&[u8]] = &[
            b"",
            b"2024-03-01T10:00:00",
            b"2024-13-01T10:00:00Z",
            b"2023-02-29T10:00:00Z",
            b"2024-03-01 10:00:00Z",
            b"2024-03-01T24:00:00Z",
            b"2024-03-01T10:00:00.Z",
            b"2024-03-01T10:00:00.1234567890Z",
            b"2024-03-01T10:00:00.9999999999Z",
            b"2024-03-01T10:00:00+0200",
            b"2024-03-01T10:00:00Z ",
            b"2024-0\xff-01T10:00:00Z",
        ];
        for text in invalid {
            assert_eq!(
                parse_rfc3339(text),
                None,
                "{:?}",
                text.escape_ascii().to_string()
            );
        }
    }

    proptest! {
        #[test]
        fn agrees_with_jiff(seconds in -2_000_000_000i64..8_000_000_000, nanos in 0i32..1_000_000_000) {
            let expected = Timestamp::new(seconds, nanos).unwrap();
            let text = format!("{expected:.9}");
            prop_assert_eq!(parse_rfc3339(text.as_bytes()), Some(expected));
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse_rfc3339(&bytes);
        }
    }
}
