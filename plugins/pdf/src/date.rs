//! PDF dates (ISO 32000-1 7.9.4): `D:YYYYMMDDHHmmSSOHH'mm'`.

/// The PDF date of Unix time `unix`, in UTC.
pub fn format(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let seconds = unix.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "D:{year:04}{month:02}{day:02}{:02}{:02}{:02}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The Unix time of PDF date `text`, if it is one; missing fields take their defaults and a
/// missing offset means UTC.
pub fn parse(text: &[u8]) -> Option<i64> {
    let text = text.strip_prefix(b"D:").unwrap_or(text);
    let digits = text.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits < 4 || digits % 2 != 0 || digits > 14 {
        return None;
    }
    let field = |from: usize, length: usize, default: i64| -> Option<i64> {
        match text.get(from..from + length) {
            Some(d) if from + length <= digits => std::str::from_utf8(d).ok()?.parse().ok(),
            _ => Some(default),
        }
    };
    let (year, month, day) = (field(0, 4, 0)?, field(4, 2, 1)?, field(6, 2, 1)?);
    let (hour, minute, second) = (field(8, 2, 0)?, field(10, 2, 0)?, field(12, 2, 0)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let offset = match text.get(digits..) {
        Some([sign @ (b'+' | b'-'), rest @ ..]) => {
            let number = |d: &[u8]| -> Option<i64> { std::str::from_utf8(d).ok()?.parse().ok() };
            let hours = number(rest.get(..2)?)?;
            let minutes = rest.get(3..5).and_then(number).unwrap_or(0);
            let offset = hours * 3600 + minutes * 60;
            if *sign == b'-' { -offset } else { offset }
        }
        _ => 0,
    };
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_offsets_count() {
        let unix = 1_796_126_400; // 2026-12-01T12:00:00Z
        assert_eq!(format(unix), "D:20261201120000Z");
        assert_eq!(parse(format(unix).as_bytes()), Some(unix));
        assert_eq!(parse(b"D:20261201160000+04'00'"), Some(unix));
        assert_eq!(parse(b"D:2026"), Some(1_767_225_600));
        assert_eq!(parse(b"garbage"), None);
    }
}
