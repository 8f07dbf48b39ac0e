//! Splitting a payment over a case's open items (SPEC §6.1.4): in the order of the country's
//! rule table, oldest invoice first within a component; what is left over is `overpaid`.
//!
//! Pure: the open items and the order are arguments. The invariant every caller relies on:
//! the parts and the overpaid amount always sum to the payment, to the øre.

use chrono::NaiveDate;

use crate::domain::Component;

/// One open amount of a case that a payment can settle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenItem {
    pub component: Component,
    /// The invoice the amount belongs to, when it belongs to one.
    pub invoice_id: Option<i64>,
    /// Orders items within a component: the oldest due date is settled first.
    pub due_date: NaiveDate,
    /// Minor units, > 0.
    pub open_minor: i64,
}

/// How one payment was split.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Allocation {
    /// (index into the open items, amount in minor units), in the order they were settled.
    pub parts: Vec<(usize, i64)>,
    /// What was left after every open item was settled; reported for refund.
    pub overpaid_minor: i64,
}

impl Allocation {
    pub fn allocated_minor(&self) -> i64 {
        self.parts.iter().map(|(_, amount)| amount).sum()
    }
}

/// Splits `amount_minor` (> 0) over `items` in `order` (each component once; components not
/// in the order are settled last, so no open amount can be skipped by a short table), oldest
/// due date first within a component.
pub fn allocate(amount_minor: i64, items: &[OpenItem], order: &[Component]) -> Allocation {
    let rank = |c: Component| order.iter().position(|o| *o == c).unwrap_or(order.len());
    let mut sequence: Vec<usize> = (0..items.len()).collect();
    sequence.sort_by_key(|&i| (rank(items[i].component), items[i].due_date, i));
    let mut left = amount_minor.max(0);
    let mut allocation = Allocation::default();
    for i in sequence {
        if left == 0 {
            break;
        }
        let take = items[i].open_minor.max(0).min(left);
        if take > 0 {
            allocation.parts.push((i, take));
            left -= take;
        }
    }
    allocation.overpaid_minor = left;
    allocation
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NO_ORDER: [Component; 4] = [
        Component::CollectionCost,
        Component::Fee,
        Component::Interest,
        Component::Principal,
    ];

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 9, d).unwrap()
    }

    fn item(component: Component, invoice: Option<i64>, due: u32, open: i64) -> OpenItem {
        OpenItem {
            component,
            invoice_id: invoice,
            due_date: day(due),
            open_minor: open,
        }
    }

    #[test]
    fn costs_fees_and_interest_before_principal_and_the_oldest_invoice_first() {
        let items = [
            item(Component::Principal, Some(2), 20, 50_000),
            item(Component::Principal, Some(1), 10, 100_000),
            item(Component::Interest, None, 1, 1_234),
            item(Component::Fee, None, 1, 7_000),
            item(Component::CollectionCost, None, 1, 70_000),
        ];
        let a = allocate(100_000, &items, &NO_ORDER);
        assert_eq!(a.parts, [(4, 70_000), (3, 7_000), (2, 1_234), (1, 21_766)]);
        assert_eq!(a.overpaid_minor, 0);
        let a = allocate(300_000, &items, &NO_ORDER);
        assert_eq!(a.allocated_minor(), 228_234);
        assert_eq!(a.overpaid_minor, 71_766);
    }

    #[test]
    fn a_component_missing_from_the_order_is_settled_last_not_skipped() {
        let items = [
            item(Component::Interest, None, 1, 500),
            item(Component::Principal, Some(1), 1, 1_000),
        ];
        let a = allocate(1_500, &items, &[Component::Principal]);
        assert_eq!(a.parts, [(1, 1_000), (0, 500)]);
    }

    proptest! {
        #[test]
        fn allocations_always_sum_to_the_payment(
            amount in 1i64..10_000_000,
            opens in proptest::collection::vec((0usize..4, 1u32..28, 0i64..5_000_000), 0..12),
        ) {
            let items: Vec<OpenItem> = opens
                .iter()
                .enumerate()
                .map(|(i, (c, d, o))| item(NO_ORDER[*c], Some(i as i64), *d, *o))
                .collect();
            let a = allocate(amount, &items, &NO_ORDER);
            prop_assert_eq!(a.allocated_minor() + a.overpaid_minor, amount);
            let total_open: i64 = items.iter().map(|i| i.open_minor).sum();
            prop_assert_eq!(a.allocated_minor(), amount.min(total_open));
            for (i, part) in &a.parts {
                prop_assert!(*part > 0 && *part <= items[*i].open_minor);
            }
            // Overpaid only when everything open was settled.
            if a.overpaid_minor > 0 {
                prop_assert_eq!(a.allocated_minor(), total_open);
            }
        }
    }
}
