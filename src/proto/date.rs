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
    }
}
