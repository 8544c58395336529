//! Fixed-point points: an `i64` count of thousandths of a point.
//!
//! Points are never floats. One fire is [`Points::ONE`] (1.000) before tax; the gift tax
//! produces fractions such as 0.5 or 0.1, all exact in thousandths. `Display` prints up to
//! three decimals with trailing zeros trimmed (`17.7`, `15`, `0.2`, `-3.5`), and `FromStr`
//! parses the same form back. Serde writes the display string and reads either that string
//! or a JSON integer meaning whole points.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount of points in thousandths (1 point = 1000).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Points(i64);

/// A string that is not a valid points amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a points amount (expected e.g. 17.7, 15 or -0.125)")]
pub struct ParsePointsError(String);

impl Points {
    /// Zero points.
    pub const ZERO: Points = Points(0);
    /// One point: the value of one fire before tax.
    pub const ONE: Points = Points(1000);

    /// Points from a count of thousandths.
    pub const fn from_thousandths(thousandths: i64) -> Self {
        Points(thousandths)
    }

    /// Points from a whole number of points.
    pub const fn from_whole(whole: i64) -> Self {
        Points(whole.saturating_mul(1000))
    }

    /// The amount in thousandths (what the store keeps in an integer column).
    pub const fn thousandths(self) -> i64 {
        self.0
    }

    /// `rate_percent` of this amount, exact for whole thousandths (rounds toward zero).
    pub const fn percent(self, rate_percent: u8) -> Self {
        Points(self.0 * rate_percent as i64 / 100)
    }

    /// Whether the amount is below zero.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (whole, frac) = (abs / 1000, abs % 1000);
        if frac == 0 {
            return write!(f, "{sign}{whole}");
        }
        let mut digits = format!("{frac:03}");
        while digits.ends_with('0') {
            digits.pop();
        }
        write!(f, "{sign}{whole}.{digits}")
    }
}

impl FromStr for Points {
    type Err = ParsePointsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParsePointsError(s.to_owned());
        let t = s.trim();
        let (negative, body) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let (whole, frac) = match body.split_once('.') {
            Some((w, f)) => (w, f),
            None => (body, ""),
        };
        let digits_ok = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits_ok(whole) || frac.len() > 3 || !digits_ok(frac) {
            return Err(err());
        }
        if body.contains('.') && frac.is_empty() {
            return Err(err());
        }
        let whole: i64 = whole.parse().map_err(|_| err())?;
        let mut frac_thousandths: i64 = 0;
        for (i, b) in frac.bytes().enumerate() {
            let place = [100, 10, 1][i];
            frac_thousandths += i64::from(b - b'0') * place;
        }
        let abs = whole
            .checked_mul(1000)
            .and_then(|w| w.checked_add(frac_thousandths))
            .ok_or_else(err)?;
        Ok(Points(if negative { -abs } else { abs }))
    }
}

impl Serialize for Points {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Text(String),
            Whole(i64),
        }
        match Repr::deserialize(deserializer)? {
            Repr::Text(s) => s.parse().map_err(serde::de::Error::custom),
            Repr::Whole(w) => Ok(Points::from_whole(w)),
        }
    }
}

impl Add for Points {
    type Output = Points;
    fn add(self, rhs: Points) -> Points {
        Points(self.0 + rhs.0)
    }
}

impl AddAssign for Points {
    fn add_assign(&mut self, rhs: Points) {
        self.0 += rhs.0;
    }
}

impl Sub for Points {
    type Output = Points;
    fn sub(self, rhs: Points) -> Points {
        Points(self.0 - rhs.0)
    }
}

impl SubAssign for Points {
    fn sub_assign(&mut self, rhs: Points) {
        self.0 -= rhs.0;
    }
}

impl Neg for Points {
    type Output = Points;
    fn neg(self) -> Points {
        Points(-self.0)
    }
}

impl Sum for Points {
    fn sum<I: Iterator<Item = Points>>(iter: I) -> Points {
        iter.fold(Points::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Points> for Points {
    fn sum<I: Iterator<Item = &'a Points>>(iter: I) -> Points {
        iter.copied().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_trims_trailing_zeros() {
        assert_eq!(Points::from_thousandths(17_700).to_string(), "17.7");
        assert_eq!(Points::from_whole(15).to_string(), "15");
        assert_eq!(Points::from_thousandths(200).to_string(), "0.2");
        assert_eq!(Points::from_thousandths(-3_500).to_string(), "-3.5");
        assert_eq!(Points::from_thousandths(-500).to_string(), "-0.5");
        assert_eq!(Points::from_thousandths(1_125).to_string(), "1.125");
        assert_eq!(Points::from_thousandths(10).to_string(), "0.01");
        assert_eq!(Points::ZERO.to_string(), "0");
    }

    #[test]
    fn parse_round_trips() {
        for t in [0, 1, 10, 200, 17_700, -3_500, -1, 1_125, 123_456_789] {
            let p = Points::from_thousandths(t);
            assert_eq!(p.to_string().parse::<Points>(), Ok(p));
        }
        assert_eq!("0.50".parse::<Points>(), Ok(Points::from_thousandths(500)));
    }

    #[test]
    fn parse_rejects_garbage() {
        for bad in ["", "-", "1.", ".5", "1.2345", "1e3", "abc", "1.-2", "--1"] {
            assert!(bad.parse::<Points>().is_err(), "{bad}");
        }
    }

    #[test]
    fn percent_is_exact() {
        assert_eq!(Points::ONE.percent(50), Points::from_thousandths(500));
        assert_eq!(Points::ONE.percent(90), Points::from_thousandths(900));
        assert_eq!(Points::ONE.percent(0), Points::ZERO);
    }

    #[test]
    fn serde_as_string_or_whole_integer() -> Result<(), serde_json::Error> {
        let p = Points::from_thousandths(17_700);
        assert_eq!(serde_json::to_string(&p)?, "\"17.7\"");
        assert_eq!(serde_json::from_str::<Points>("\"17.7\"")?, p);
        assert_eq!(
            serde_json::from_str::<Points>("10")?,
            Points::from_whole(10)
        );
        Ok(())
    }
}
