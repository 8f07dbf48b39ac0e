//! Late-payment interest: per day on open principal after the due date at the rate in force that day, simple, exact.
//!
//! Interest for a day is `principal × rate / 100 / year_length`, where the rate is the annual
//! percentage in force on that day (a [`RatePeriod`] from the rule tables) and the year length
//! follows the country's [`DayCount`]. The day the principal fell due earns nothing; the last
//! day of the range does (`from` is exclusive, `to` inclusive), so a payment on day D settles
//! interest up to and including D.
//!
//! Results are in minor units (øre, öre, cent) and are *not* rounded: rounding happens once,
//! when interest is posted ([`round_to_minor`]). To keep sums exact, every day's contribution
//! is a numerator over the common denominator 13 359 000 = lcm(36 500, 36 600), the percent
//! rate's divisor for 365- and 366-day years; only the final total is divided. Splitting a range
//! in two therefore adds up to the whole range exactly in the numerator, and to within the last
//! of Decimal's 28 digits after the division.

use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};

/// A period of constant rate: first day, last day (both inclusive), percent per year.
pub type RatePeriod = (NaiveDate, NaiveDate, Decimal);

/// How many days make the year that an annual rate is divided by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayCount {
    /// Each day is 1/365 of a year, or 1/366 in a leap year (`"actual/actual"`). What the
    /// Norwegian Legislation Department and the Finnish debt advice service describe; see
    /// `config/rules.toml` for the sources per country.
    ActualActual,
    /// Each day is 1/365 of a year, leap years included (`"actual/365"`, "Actual/365 Fixed").
    Actual365Fixed,
}

impl DayCount {
    /// The text form used in `config/rules.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            DayCount::ActualActual => "actual/actual",
            DayCount::Actual365Fixed => "actual/365",
        }
    }

    /// Every day count, for messages that list the allowed values.
    pub const ALL: &'static [DayCount] = &[DayCount::ActualActual, DayCount::Actual365Fixed];

    /// A day's weight over [`DENOMINATOR`]: `DENOMINATOR / (100 × year length)`, so that
    /// `principal × rate × weight / DENOMINATOR` is the day's interest.
    fn weight(self, day: NaiveDate) -> i64 {
        match self {
            DayCount::Actual365Fixed => WEIGHT_365,
            DayCount::ActualActual if day.leap_year() => WEIGHT_366,
            DayCount::ActualActual => WEIGHT_365,
        }
    }
}

impl std::str::FromStr for DayCount {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DayCount::ALL
            .iter()
            .copied()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| {
                let allowed: Vec<_> = DayCount::ALL.iter().map(|d| d.as_str()).collect();
                format!("`{s}` is not one of {}", allowed.join(", "))
            })
    }
}

/// lcm(36 500, 36 600): the percent rate is divided by 100 × 365 or 100 × 366.
const DENOMINATOR: i64 = 13_359_000;
/// DENOMINATOR / 36 500.
const WEIGHT_365: i64 = 366;
/// DENOMINATOR / 36 600.
const WEIGHT_366: i64 = 365;

/// Why interest could not be computed. Each is a mistake of the caller (or a rule table that
/// does not cover the dates), never of the debtor's data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterestError {
    #[error("no interest rate covers {0}")]
    NoRate(NaiveDate),
    #[error("rate periods overlap on {0}")]
    OverlappingPeriods(NaiveDate),
    #[error("a rate period ends before it starts ({0} to {1})")]
    EmptyPeriod(NaiveDate, NaiveDate),
    #[error("interest cannot run on a negative principal ({0} minor units)")]
    NegativePrincipal(i64),
    #[error("the interest amount is too large to compute exactly")]
    Overflow,
}

/// Interest in minor units on `principal_minor` for the days after `from` up to and including
/// `to`, at the rate each day's [`RatePeriod`] gives. Zero when `to <= from`. Every day with
/// principal must be covered by exactly one period.
///
/// Example: 10 000.00 NOK (1 000 000 øre) at 12.50 % for 31 days of a 365-day year is
/// 1 000 000 × 12.5 × 31 / 36 500 = 10 616.438356… øre.
pub fn accrued(
    principal_minor: i64,
    from: NaiveDate,
    to: NaiveDate,
    periods: &[RatePeriod],
    day_count: DayCount,
) -> Result<Decimal, InterestError> {
    accrued_on_balance(&[(from, principal_minor)], from, to, periods, day_count)
}

/// Interest in minor units over a principal that moves: each `(date, principal)` in `changes`
/// is the principal *after* a change on that date (an invoice falling due, a payment, a credit
/// note), so it earns interest from the next day on. Days before the first change carry no
/// principal. As in [`accrued`], the range is the days after `from` up to and including `to`.
///
/// Changes need not be sorted; for several changes on one date the last one listed wins.
/// Example: an invoice of 1 000.00 due 31 January and a payment of 400.00 on 10 March give
/// `[(31 Jan, 100_000), (10 Mar, 60_000)]`.
pub fn accrued_on_balance(
    changes: &[(NaiveDate, i64)],
    from: NaiveDate,
    to: NaiveDate,
    periods: &[RatePeriod],
    day_count: DayCount,
) -> Result<Decimal, InterestError> {
    let numerator = numerator_on_balance(changes, from, to, periods, day_count)?;
    numerator
        .checked_div(Decimal::from(DENOMINATOR))
        .ok_or(InterestError::Overflow)
}

/// Rounds interest in minor units to whole minor units, half away from zero ("commercial"
/// rounding: 0.5 øre becomes 1 øre). Banker's rounding only pays off when many rounded values
/// are summed and their bias matters; a posting is rounded once and must be reproducible by a
/// debtor or a creditor with a pocket calculator, which rounds half up. Values beyond the range
/// of `i64` saturate (they cannot arise from amounts kravflyt accepts).
pub fn round_to_minor(d: Decimal) -> i64 {
    let rounded = d.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    i64::try_from(rounded).unwrap_or(if rounded.is_sign_negative() {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// The exact interest numerator over [`DENOMINATOR`] (see the module documentation).
fn numerator_on_balance(
    changes: &[(NaiveDate, i64)],
    from: NaiveDate,
    to: NaiveDate,
    periods: &[RatePeriod],
    day_count: DayCount,
) -> Result<Decimal, InterestError> {
    if to <= from {
        return Ok(Decimal::ZERO);
    }
    let periods = checked_periods(periods)?;
    // A stable sort keeps the listed order within a date, so the last listed change wins.
    let mut changes = changes.to_vec();
    changes.sort_by_key(|(date, _)| *date);
    let mut total = Decimal::ZERO;
    // Walk the segments of constant principal: (start, end] with the change's balance.
    for (i, (date, balance)) in changes.iter().enumerate() {
        if *balance < 0 {
            return Err(InterestError::NegativePrincipal(*balance));
        }
        let next = changes.get(i + 1).map(|(d, _)| *d);
        if next == Some(*date) {
            // Superseded by a later change on the same date.
            continue;
        }
        // Days strictly after the change date, and after `from`, up to the next change (the
        // next change's own day still earns on this balance) and `to`.
        let start = (*date).max(from);
        let end = next.map_or(to, |n| n.min(to));
        if end <= start || *balance == 0 {
            continue;
        }
        let part = numerator_for(*balance, start, end, &periods, day_count)?;
        total = total.checked_add(part).ok_or(InterestError::Overflow)?;
    }
    Ok(total)
}

/// The numerator for a constant principal over the days after `start` up to and including `end`.
fn numerator_for(
    principal: i64,
    start: NaiveDate,
    end: NaiveDate,
    periods: &[RatePeriod],
    day_count: DayCount,
) -> Result<Decimal, InterestError> {
    let principal = Decimal::from(principal);
    let mut total = Decimal::ZERO;
    // The first day still to be covered; the periods are sorted and disjoint.
    let Some(mut next_day) = start.succ_opt() else {
        return Ok(total);
    };
    for &(first, last, rate) in periods {
        if last < next_day {
            continue;
        }
        if first > next_day {
            // A day between the covered stretch and this period has no rate.
            return Err(InterestError::NoRate(next_day));
        }
        let stretch_end = last.min(end);
        // Split at year ends: under actual/actual the two years' days weigh differently.
        let mut day = next_day;
        while day <= stretch_end {
            let year_end = NaiveDate::from_ymd_opt(day.year(), 12, 31).unwrap_or(stretch_end);
            let piece_end = year_end.min(stretch_end);
            let days = (piece_end - day).num_days() + 1;
            let weight = day_count.weight(day);
            let part = principal
                .checked_mul(rate)
                .and_then(|x| x.checked_mul(Decimal::from(days)))
                .and_then(|x| x.checked_mul(Decimal::from(weight)))
                .ok_or(InterestError::Overflow)?;
            total = total.checked_add(part).ok_or(InterestError::Overflow)?;
            match piece_end.succ_opt() {
                Some(d) => day = d,
                None => return Ok(total),
            }
        }
        next_day = day;
        if next_day > end {
            return Ok(total);
        }
    }
    Err(InterestError::NoRate(next_day))
}

/// The periods sorted by first day, after checking that none is empty and none overlaps another.
fn checked_periods(periods: &[RatePeriod]) -> Result<Vec<RatePeriod>, InterestError> {
    let mut sorted = periods.to_vec();
    sorted.sort_by_key(|(first, _, _)| *first);
    for (first, last, _) in &sorted {
        if last < first {
            return Err(InterestError::EmptyPeriod(*first, *last));
        }
    }
    for pair in sorted.windows(2) {
        if let [(_, last, _), (next_first, _, _)] = pair
            && next_first <= last
        {
            return Err(InterestError::OverlappingPeriods(*next_first));
        }
    }
    Ok(sorted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    /// Equal up to Decimal's rounding of a division in its last digits.
    fn close(a: Decimal, b: Decimal) -> bool {
        (a - b).abs() < Decimal::new(1, 15)
    }

    /// One rate for all of 2020-2030.
    fn flat(rate: &str) -> Vec<RatePeriod> {
        vec![(day(2020, 1, 1), day(2030, 12, 31), dec(rate))]
    }

    /// Norway's rates around the cut of 1 July 2025.
    fn half_years() -> Vec<RatePeriod> {
        vec![
            (day(2025, 1, 1), day(2025, 6, 30), dec("12.50")),
            (day(2025, 7, 1), day(2025, 12, 31), dec("12.25")),
        ]
    }

    #[test]
    fn a_month_at_twelve_and_a_half_percent_matches_the_hand_computation() {
        // 10 000.00 NOK × 0.125 × 31 / 365 = 106.164383561643835616… NOK.
        let interest = accrued(
            1_000_000,
            day(2025, 1, 31),
            day(2025, 3, 3),
            &flat("12.50"),
            DayCount::ActualActual,
        )
        .unwrap();
        assert_eq!((day(2025, 3, 3) - day(2025, 1, 31)).num_days(), 31);
        assert!(
            interest.to_string().starts_with("10616.4383561643835616"),
            "{interest}"
        );
        assert_eq!(round_to_minor(interest), 10_616);
    }

    #[test]
    fn the_due_date_earns_nothing_and_the_last_day_earns() {
        let one_day = accrued(
            3_650_000,
            day(2025, 5, 1),
            day(2025, 5, 2),
            &flat("10"),
            DayCount::ActualActual,
        )
        .unwrap();
        // 36 500.00 at 10 % for one day of 365 = 10.00 = 1 000 minor units.
        assert_eq!(one_day, dec("1000"));
    }

    #[test]
    fn zero_days_or_a_reversed_range_give_zero() {
        let d = day(2025, 5, 1);
        assert_eq!(
            accrued(1_000_000, d, d, &[], DayCount::ActualActual),
            Ok(Decimal::ZERO)
        );
        assert_eq!(
            accrued(1_000_000, d, day(2025, 4, 1), &[], DayCount::ActualActual),
            Ok(Decimal::ZERO)
        );
        assert_eq!(
            accrued(0, d, day(2025, 6, 1), &[], DayCount::ActualActual),
            Ok(Decimal::ZERO)
        );
    }

    #[test]
    fn a_half_year_rate_change_splits_the_days() {
        // 20 June to 10 July 2025: 10 days at 12.50 (21-30 June), 10 days at 12.25 (1-10 July).
        let interest = accrued(
            1_000_000,
            day(2025, 6, 20),
            day(2025, 7, 10),
            &half_years(),
            DayCount::ActualActual,
        )
        .unwrap();
        let by_hand = (dec("1000000") * dec("12.50") * dec("10")
            + dec("1000000") * dec("12.25") * dec("10"))
            / dec("36500");
        assert!(close(interest, by_hand), "{interest} vs {by_hand}");
        assert_eq!(round_to_minor(interest), 6_781); // 67.808219… NOK
    }

    #[test]
    fn a_leap_year_divides_by_366_under_actual_actual_and_by_365_under_actual_365() {
        // All of 2024: 366 days.
        let from = day(2023, 12, 31);
        let to = day(2024, 12, 31);
        let actual = accrued(1_000_000, from, to, &flat("10"), DayCount::ActualActual).unwrap();
        assert_eq!(actual, dec("100000")); // exactly one year's 10 %
        let fixed = accrued(1_000_000, from, to, &flat("10"), DayCount::Actual365Fixed).unwrap();
        let by_hand = dec("1000000") * dec("10") * dec("366") / dec("36500");
        assert!(close(fixed, by_hand), "{fixed} vs {by_hand}");
        assert!(fixed > actual);
    }

    #[test]
    fn a_range_across_new_year_weighs_each_year_by_its_own_length() {
        // 31 Dec 2023 (365-day year) and 1 Jan 2024 (366-day year).
        let interest = accrued(
            3_650_000,
            day(2023, 12, 30),
            day(2024, 1, 1),
            &flat("10"),
            DayCount::ActualActual,
        )
        .unwrap();
        let by_hand =
            dec("3650000") * dec("0.1") / dec("365") + dec("3650000") * dec("0.1") / dec("366");
        assert!(close(interest, by_hand), "{interest} vs {by_hand}");
        assert_eq!(round_to_minor(interest), 1_997); // 1 000 + 997.27 øre
    }

    #[test]
    fn a_payment_lowers_the_principal_from_the_next_day() {
        let periods = flat("10");
        // 1 000.00 due 31 Jan 2025, 400.00 paid 10 Mar: 38 days on 1 000, then 21 days on 600.
        let changes = [(day(2025, 1, 31), 100_000), (day(2025, 3, 10), 60_000)];
        let moved = accrued_on_balance(
            &changes,
            day(2025, 1, 31),
            day(2025, 3, 31),
            &periods,
            DayCount::ActualActual,
        )
        .unwrap();
        let by_hand =
            (dec("100000") * dec("38") + dec("60000") * dec("21")) * dec("10") / dec("36500");
        assert!(close(moved, by_hand), "{moved} vs {by_hand}");
    }

    #[test]
    fn a_second_invoice_earns_from_the_day_after_its_own_due_date() {
        let periods = flat("10");
        let changes = [(day(2025, 2, 10), 100_000), (day(2025, 1, 1), 50_000)];
        let total = accrued_on_balance(
            &changes,
            day(2024, 12, 1),
            day(2025, 2, 20),
            &periods,
            DayCount::ActualActual,
        )
        .unwrap();
        // Nothing before 1 Jan; 40 days (2 Jan-10 Feb) on 500.00; 10 days on 1 000.00.
        let by_hand =
            (dec("50000") * dec("40") + dec("100000") * dec("10")) * dec("10") / dec("36500");
        assert!(close(total, by_hand), "{total} vs {by_hand}");
    }

    #[test]
    fn the_last_change_listed_on_a_date_wins() {
        let periods = flat("10");
        let changes = [(day(2025, 1, 1), 100_000), (day(2025, 1, 1), 0)];
        let total = accrued_on_balance(
            &changes,
            day(2025, 1, 1),
            day(2025, 2, 1),
            &periods,
            DayCount::ActualActual,
        );
        assert_eq!(total, Ok(Decimal::ZERO));
    }

    #[test]
    fn caller_mistakes_are_errors_not_panics_or_silent_zeros() {
        let from = day(2025, 6, 20);
        let to = day(2025, 7, 10);
        let gap = vec![
            (day(2025, 1, 1), day(2025, 6, 29), dec("12.50")),
            (day(2025, 7, 1), day(2025, 12, 31), dec("12.25")),
        ];
        assert_eq!(
            accrued(1, from, to, &gap, DayCount::ActualActual),
            Err(InterestError::NoRate(day(2025, 6, 30)))
        );
        assert_eq!(
            accrued(1, from, to, &half_years()[..1], DayCount::ActualActual),
            Err(InterestError::NoRate(day(2025, 7, 1)))
        );
        let overlap = vec![
            (day(2025, 1, 1), day(2025, 7, 1), dec("12.50")),
            (day(2025, 7, 1), day(2025, 12, 31), dec("12.25")),
        ];
        assert_eq!(
            accrued(1, from, to, &overlap, DayCount::ActualActual),
            Err(InterestError::OverlappingPeriods(day(2025, 7, 1)))
        );
        assert_eq!(
            accrued(-1, from, to, &half_years(), DayCount::ActualActual),
            Err(InterestError::NegativePrincipal(-1))
        );
        let millennia = vec![(day(1000, 1, 1), day(3000, 12, 31), dec("100"))];
        assert_eq!(
            accrued(
                i64::MAX,
                day(1000, 1, 1),
                day(3000, 1, 1),
                &millennia,
                DayCount::ActualActual
            ),
            Err(InterestError::Overflow)
        );
        // The last representable day neither panics nor loops.
        assert_eq!(
            accrued(
                1,
                NaiveDate::MAX,
                NaiveDate::MAX,
                &[],
                DayCount::ActualActual
            ),
            Ok(Decimal::ZERO)
        );
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(round_to_minor(dec("10.5")), 11);
        assert_eq!(round_to_minor(dec("10.4999999")), 10);
        assert_eq!(round_to_minor(dec("-10.5")), -11);
        assert_eq!(round_to_minor(dec("0")), 0);
        assert_eq!(round_to_minor(Decimal::MAX), i64::MAX);
        assert_eq!(round_to_minor(Decimal::MIN), i64::MIN);
    }

    #[test]
    fn day_counts_read_from_their_text() {
        for d in DayCount::ALL {
            assert_eq!(d.as_str().parse::<DayCount>(), Ok(*d));
        }
        assert!("30/360".parse::<DayCount>().is_err());
    }

    fn day_count() -> impl Strategy<Value = DayCount> {
        prop_oneof![Just(DayCount::ActualActual), Just(DayCount::Actual365Fixed)]
    }

    /// Half-year periods over 2023-2027 with rates 0.00-30.00 %.
    fn periods() -> impl Strategy<Value = Vec<RatePeriod>> {
        proptest::collection::vec(0i64..=3000, 10).prop_map(|rates| {
            rates
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let year = 2023 + (i / 2) as i32;
                    let (first, last) = if i % 2 == 0 {
                        (day(year, 1, 1), day(year, 6, 30))
                    } else {
                        (day(year, 7, 1), day(year, 12, 31))
                    };
                    (first, last, Decimal::new(*r, 2))
                })
                .collect()
        })
    }

    fn date_in_range() -> impl Strategy<Value = NaiveDate> {
        // 2022-12-31 .. 2027-12-30, so that the day after is covered by `periods()`.
        (0i64..1825).prop_map(|n| day(2022, 12, 31) + chrono::Duration::days(n))
    }

    proptest! {
        #[test]
        fn splitting_a_range_never_changes_the_total(
            principal in 0i64..=99_999_999_999_999,
            mut dates in proptest::collection::vec(date_in_range(), 3),
            periods in periods(),
            dc in day_count(),
        ) {
            dates.sort();
            let (a, b, c) = (dates[0], dates[1], dates[2]);
            let changes = [(a, principal)];
            let whole = numerator_on_balance(&changes, a, c, &periods, dc).unwrap();
            let left = numerator_on_balance(&changes, a, b, &periods, dc).unwrap();
            let right = numerator_on_balance(&changes, b, c, &periods, dc).unwrap();
            // Exact in the numerator ...
            prop_assert_eq!(whole, left + right);
            // ... and to within Decimal's last digits after the division.
            let total = accrued(principal, a, c, &periods, dc).unwrap();
            let parts = accrued(principal, a, b, &periods, dc).unwrap()
                + accrued(principal, b, c, &periods, dc).unwrap();
            prop_assert!((total - parts).abs() <= Decimal::new(1, 12), "{} vs {}", total, parts);
        }

        #[test]
        fn interest_is_never_negative_for_a_non_negative_principal(
            principal in 0i64..=99_999_999_999_999,
            mut dates in proptest::collection::vec(date_in_range(), 2),
            periods in periods(),
            dc in day_count(),
        ) {
            dates.sort();
            let interest = accrued(principal, dates[0], dates[1], &periods, dc).unwrap();
            prop_assert!(interest >= Decimal::ZERO);
            prop_assert!(round_to_minor(interest) >= 0);
        }

        #[test]
        fn a_moving_balance_is_the_sum_of_its_constant_stretches(
            p1 in 0i64..=10_000_000_000,
            p2 in 0i64..=10_000_000_000,
            mut dates in proptest::collection::vec(date_in_range(), 3),
            periods in periods(),
            dc in day_count(),
        ) {
            dates.sort();
            let (a, b, c) = (dates[0], dates[1], dates[2]);
            let moved = numerator_on_balance(&[(a, p1), (b, p2)], a, c, &periods, dc).unwrap();
            let first = numerator_on_balance(&[(a, p1)], a, b, &periods, dc).unwrap();
            let second = numerator_on_balance(&[(b, p2)], b, c, &periods, dc).unwrap();
            prop_assert_eq!(moved, first + second);
        }
    }
}
