//! Calendar dates for protocol headers, computed from Unix seconds.
//!
//! Mail and file protocols print dates (RFC 5322 `Date:` and `Received:`,
//! IMAP `INTERNALDATE`, FTP `MDTM`). The simulation has no wall clock: a
//! scenario fixes a start date and simulated time advances it, so these
//! helpers turn a plain count of seconds into text, always in UTC.

/// Days since 1970-01-01 to a (year, month 1..=12, day 1..=31) civil date.
/// Howard Hinnant's `civil_from_days` algorithm; exact for every `i64` day
/// a simulation can reach.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A (year, month 1..=12, day 1..=31) civil date to days since
/// 1970-01-01: the inverse of [`civil_from_days`] (Hinnant's
/// `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses an RFC 3339 UTC time such as `2026-11-23T10:00:00Z` (or a date
/// alone, `2026-11-23`, meaning midnight) into Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (
            d,
            Some(t.strip_suffix('Z').or_else(|| t.strip_suffix("+00:00"))?),
        ),
        None => (s, None),
    };
    let mut d = date.splitn(3, '-');
    let year: i64 = digits(d.next()?)?;
    let month: u32 = digits(d.next()?)?;
    let day: u32 = digits(d.next()?)?;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) || !(1970..=9999).contains(&year) {
        return None;
    }
    let secs = match time {
        None => 0,
        Some(t) => {
            let mut p = t.splitn(3, ':');
            let h: i64 = digits(p.next()?)?;
            let m: i64 = digits(p.next()?)?;
            let s: i64 = p.next().map_or(Some(0), digits)?;
            if h > 23 || m > 59 || s > 60 {
                return None;
            }
            h * 3600 + m * 60 + s
        }
    };
    Some(days_from_civil(year, month, day) * 86_400 + secs)
}

/// Parses an HTTP date in the IMF-fixdate form of RFC 9110 §5.6.7,
/// `Sun, 06 Nov 1994 08:49:37 GMT`, into Unix seconds. (The obsolete
/// RFC 850 and asctime forms are not accepted: a cache validator that
/// does not parse is ignored, as §13.1.3 says.)
pub fn parse_http_date(s: &str) -> Option<i64> {
    let rest = s.trim().split_once(", ")?.1;
    let w: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = w.as_slice() else {
        return None;
    };
    let month = MONTHS.iter().position(|m| m == month)? as u32 + 1;
    if day.len() != 2 || year.len() != 4 || time.len() != 8 {
        return None;
    }
    let stamp = format!("{year}-{month:02}-{day}T{time}Z");
    parse_rfc3339(&stamp)
}

/// A field of an RFC 3339 date: decimal digits only (`str::parse` would
/// also take a sign, and `T-1:00` is no time of day).
fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// The broken-down UTC time of `unix_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Thursday (1970-01-01 was one), used only for names.
    weekday: usize,
}

impl Civil {
    /// Breaks `unix_secs` into calendar fields.
    pub fn from_unix(unix_secs: i64) -> Civil {
        let days = unix_secs.div_euclid(86_400);
        let secs = unix_secs.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
            weekday: days.rem_euclid(7) as usize,
        }
    }

    fn month_name(&self) -> &'static str {
        MONTHS[(self.month - 1) as usize]
    }
}

/// RFC 5322 §3.3 date-time: `Mon, 02 Mar 2026 14:05:09 +0000`.
pub fn rfc5322(unix_secs: i64) -> String {
    let c = Civil::from_unix(unix_secs);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000",
        WEEKDAYS[c.weekday],
        c.day,
        c.month_name(),
        c.year,
        c.hour,
        c.minute,
        c.second
    )
}

/// RFC 3501 §9 date-time (INTERNALDATE): `02-Mar-2026 14:05:09 +0000`.
pub fn imap_date_time(unix_secs: i64) -> String {
    let c = Civil::from_unix(unix_secs);
    format!(
        "{:02}-{}-{:04} {:02}:{:02}:{:02} +0000",
        c.day,
        c.month_name(),
        c.year,
        c.hour,
        c.minute,
        c.second
    )
}

/// RFC 3659 §2.3 time-val (MDTM): `20260302140509`.
pub fn ftp_time_val(unix_secs: i64) -> String {
    let c = Civil::from_unix(unix_secs);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `ls -l` style date for FTP LIST: `Mar  2 14:05`.
pub fn ls_date(unix_secs: i64) -> String {
    let c = Civil::from_unix(unix_secs);
    format!(
        "{} {:>2} {:02}:{:02}",
        c.month_name(),
        c.day,
        c.hour,
        c.minute
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(rfc5322(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        // 2000-02-29 was a leap day; 951782400 is its midnight.
        assert_eq!(rfc5322(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(imap_date_time(1_772_460_309), "02-Mar-2026 14:05:09 +0000");
        assert_eq!(ftp_time_val(1_772_460_309), "20260302140509");
        assert_eq!(ls_date(1_772_460_309), "Mar  2 14:05");
        assert_eq!(parse_rfc3339("2026-03-02T14:05:09Z"), Some(1_772_460_309));
        assert_eq!(parse_rfc3339("2000-02-29"), Some(951_782_400));
        assert_eq!(parse_rfc3339("2001-02-29"), None);
        assert_eq!(parse_rfc3339("2026-03-02T25:00:00Z"), None);
        // Signs are not digits: these are not times of day.
        assert_eq!(parse_rfc3339("2026-03-02T-1:00:00Z"), None);
        assert_eq!(parse_rfc3339("2026-03-02T10:-5:00Z"), None);
        assert_eq!(parse_rfc3339("2026-+3-02"), None);
        for days in [-1000, 0, 11_016, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
