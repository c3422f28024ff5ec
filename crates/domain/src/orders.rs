//! Orders: what a customer bought, line by line (amounts in cents). An order's status
//! follows its lines' fulfilment from stock; the stages around it (printed, assembled,
//! shipped, cancelled, refunded) are set by people, within the moves allowed here.

use crate::printers::name_set;
use crate::validation::Invalid;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

name_set!(
    /// Where an order is, as stored in `orders.status`.
    OrderStatus, "order status" {
        /// Taken, nothing sent from stock yet.
        Pending => "pending",
        /// Being made or partly sent from stock.
        Processing => "processing",
        /// Its prints are done.
        Printed => "printed",
        /// Its prints are assembled.
        Assembled => "assembled",
        /// On its way to the customer.
        Shipped => "shipped",
        /// Every line taken from stock.
        Fulfilled => "fulfilled",
        /// Called off before it was fulfilled.
        Cancelled => "cancelled",
        /// Paid back after it was fulfilled or shipped.
        Refunded => "refunded",
    }
);

name_set!(
    /// Where an order came from.
    Platform, "platform" {
        /// A Shopify store.
        Shopify => "shopify",
        /// Amazon.
        Amazon => "amazon",
        /// Etsy.
        Etsy => "etsy",
        /// Typed in by the farm.
        Manual => "manual",
        /// Anywhere else.
        Other => "other",
    }
);

name_set!(
    /// How much of one order line has been taken from stock (`order_items.fulfillment_status`).
    LineStatus, "fulfillment status" {
        /// None of it.
        Pending => "pending",
        /// Some of it.
        Partial => "partial",
        /// All of it.
        Fulfilled => "fulfilled",
        /// Called off.
        Cancelled => "cancelled",
    }
);

impl OrderStatus {
    /// Whether the order is over: nothing more is taken from stock or queued for it.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            OrderStatus::Fulfilled
                | OrderStatus::Shipped
                | OrderStatus::Cancelled
                | OrderStatus::Refunded
        )
    }

    /// Whether people may move an order from `self` to `to` by hand. Fulfilled is reached
    /// only by taking the lines from stock; a cancelled or refunded order stays so; a
    /// fulfilled or shipped one is refunded, not cancelled.
    pub fn may_become(self, to: OrderStatus) -> bool {
        use OrderStatus::*;
        if self == to {
            return true;
        }
        match (self, to) {
            (Cancelled | Refunded, _) | (_, Fulfilled) => false,
            (Fulfilled | Shipped, Refunded) | (Fulfilled, Shipped) => true,
            (Fulfilled | Shipped, _) | (_, Refunded) => false,
            _ => true,
        }
    }
}

/// One line of an order, as far as its status goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// Units bought.
    pub quantity: i64,
    /// Units taken from stock for it so far.
    pub fulfilled: i64,
    /// Called off.
    pub cancelled: bool,
}

impl Line {
    /// Units still to take from stock.
    pub fn remaining(self) -> i64 {
        if self.cancelled {
            0
        } else {
            (self.quantity - self.fulfilled).max(0)
        }
    }

    /// Its fulfilment status.
    pub fn status(self) -> LineStatus {
        if self.cancelled {
            LineStatus::Cancelled
        } else if self.fulfilled >= self.quantity {
            LineStatus::Fulfilled
        } else if self.fulfilled > 0 {
            LineStatus::Partial
        } else {
            LineStatus::Pending
        }
    }
}

/// The status an order in `current` has once its lines are as given: every open line
/// taken from stock makes it fulfilled, some makes a pending order processing; a
/// closed order, or one whose lines say nothing new, keeps its status.
pub fn order_status(current: OrderStatus, lines: &[Line]) -> OrderStatus {
    if current.is_closed() {
        return current;
    }
    let open: Vec<&Line> = lines.iter().filter(|l| !l.cancelled).collect();
    if open.is_empty() {
        return current;
    }
    if open.iter().all(|l| l.remaining() == 0) {
        OrderStatus::Fulfilled
    } else if current == OrderStatus::Pending && open.iter().any(|l| l.fulfilled > 0) {
        OrderStatus::Processing
    } else {
        current
    }
}

/// The order number of the farm's `n`th order (`ORD-00042`).
pub fn order_number(n: i64) -> String {
    format!("ORD-{n:05}")
}

/// How many units of a line to take from stock: `asked` (all that remain when not given),
/// at least one and at most what remains.
pub fn units_to_fulfil(line: Line, asked: Option<i64>) -> Result<i64, Invalid> {
    let remaining = line.remaining();
    if remaining == 0 {
        return Err(Invalid::field(
            "quantity",
            "nothing of this line is left to fulfil",
        ));
    }
    let units = asked.unwrap_or(remaining);
    if !(1..=remaining).contains(&units) {
        return Err(Invalid::field(
            "quantity",
            format!("quantity must be from 1 to {remaining} (what is left of the line)"),
        ));
    }
    Ok(units)
}

/// An order's total in cents: its lines, plus shipping and tax, less the discount; never
/// below zero.
pub fn order_total(lines_total: i64, shipping: i64, tax: i64, discount: i64) -> i64 {
    lines_total
        .saturating_add(shipping)
        .saturating_add(tax)
        .saturating_sub(discount)
        .max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(quantity: i64, fulfilled: i64) -> Line {
        Line {
            quantity,
            fulfilled,
            cancelled: false,
        }
    }

    #[test]
    fn a_line_says_how_much_of_it_was_sent() {
        assert_eq!(line(3, 0).status(), LineStatus::Pending);
        assert_eq!(line(3, 1).status(), LineStatus::Partial);
        assert_eq!(line(3, 3).status(), LineStatus::Fulfilled);
        assert_eq!(line(3, 1).remaining(), 2);
        let called_off = Line {
            cancelled: true,
            ..line(3, 1)
        };
        assert_eq!(called_off.status(), LineStatus::Cancelled);
        assert_eq!(called_off.remaining(), 0);
    }

    #[test]
    fn an_orders_status_follows_its_lines() {
        use OrderStatus::*;
        assert_eq!(order_status(Pending, &[line(2, 0), line(1, 0)]), Pending);
        assert_eq!(order_status(Pending, &[line(2, 1), line(1, 0)]), Processing);
        assert_eq!(order_status(Printed, &[line(2, 1), line(1, 0)]), Printed);
        assert_eq!(order_status(Printed, &[line(2, 2), line(1, 1)]), Fulfilled);
        let cancelled_line = Line {
            cancelled: true,
            ..line(5, 0)
        };
        assert_eq!(
            order_status(Pending, &[line(1, 1), cancelled_line]),
            Fulfilled
        );
        assert_eq!(order_status(Cancelled, &[line(1, 1)]), Cancelled);
        assert_eq!(order_status(Pending, &[]), Pending);
    }

    #[test]
    fn people_move_an_order_only_where_it_can_go() {
        use OrderStatus::*;
        assert!(Pending.may_become(Printed));
        assert!(Assembled.may_become(Shipped));
        assert!(Pending.may_become(Cancelled));
        assert!(Fulfilled.may_become(Shipped));
        assert!(Shipped.may_become(Refunded));
        assert!(!Pending.may_become(Fulfilled), "only stock fulfils");
        assert!(!Pending.may_become(Refunded), "nothing was paid out yet");
        assert!(!Fulfilled.may_become(Cancelled), "refund it instead");
        assert!(!Cancelled.may_become(Pending));
        assert!(!Refunded.may_become(Shipped));
    }

    #[test]
    fn fulfilment_takes_what_remains_at_most() {
        assert_eq!(units_to_fulfil(line(5, 2), None), Ok(3));
        assert_eq!(units_to_fulfil(line(5, 2), Some(2)), Ok(2));
        assert!(units_to_fulfil(line(5, 2), Some(4)).is_err());
        assert!(units_to_fulfil(line(5, 2), Some(0)).is_err());
        assert!(units_to_fulfil(line(5, 5), None).is_err());
    }

    #[test]
    fn order_numbers_and_totals() {
        assert_eq!(order_number(42), "ORD-00042");
        assert_eq!(order_number(123_456), "ORD-123456");
        assert_eq!(order_total(10_000, 500, 800, 1_000), 10_300);
        assert_eq!(order_total(100, 0, 0, 1_000), 0);
    }
}
