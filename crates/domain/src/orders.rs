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

/// A SKU code as the second, looser match compares it: no case, and no spaces, dashes,
/// underscores, dots or slashes (`"pla-red 01"` and `"PLA_RED01"` are one code). The first
/// match is exact; this one catches what shops and people type.
pub fn normalise_sku(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '_' | '.' | '/'))
        .flat_map(char::to_uppercase)
        .collect()
}

/// What an open order line of a SKU still needs, for sharing the SKU's stock out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    /// Units still to take from stock (`Line::remaining`).
    pub remaining: i64,
    /// Units its own queued and running prints will bring (counted for this line only).
    pub incoming: i64,
}

/// How one line is covered once the stock is shared out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Cover {
    /// Units of the stock set aside for it.
    pub from_stock: i64,
    /// Units its own prints will bring.
    pub incoming: i64,
    /// Units neither covers: what new prints must make.
    pub short: i64,
}

impl Cover {
    /// Whether the stock alone fills it (it can be fulfilled now).
    pub fn is_ready(&self, need: Need) -> bool {
        self.from_stock >= need.remaining
    }
}

/// Shares `ready` units of one SKU out among its open lines, oldest order first: each line
/// takes from stock what its own incoming prints won't bring, while stock lasts; what is
/// left uncovered is its shortfall. A line's prints count for it alone, and the stock never
/// goes to a line its own prints will fill, so no unit is promised twice and no print is
/// queued for a unit the stock could give (a restock covers the next order, not the one
/// already being printed for).
pub fn share_stock(ready: i64, needs: &[Need]) -> Vec<Cover> {
    let mut left = ready.max(0);
    needs
        .iter()
        .map(|need| {
            let remaining = need.remaining.max(0);
            let incoming = need.incoming.max(0);
            let from_stock = left.min((remaining - incoming).max(0));
            left -= from_stock;
            Cover {
                from_stock,
                incoming,
                short: (remaining - from_stock - incoming).max(0),
            }
        })
        .collect()
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
    fn sku_codes_match_loosely_on_the_second_pass() {
        assert_eq!(normalise_sku(" pla-red 01 "), "PLARED01");
        assert_eq!(normalise_sku("PLA_RED.01"), normalise_sku("pla/red-01"));
        assert_ne!(normalise_sku("PLA-RED-01"), normalise_sku("PLA-RED-10"));
    }

    #[test]
    fn order_numbers_and_totals() {
        assert_eq!(order_number(42), "ORD-00042");
        assert_eq!(order_number(123_456), "ORD-123456");
        assert_eq!(order_total(10_000, 500, 800, 1_000), 10_300);
        assert_eq!(order_total(100, 0, 0, 1_000), 0);
    }

    fn need(remaining: i64, incoming: i64) -> Need {
        Need {
            remaining,
            incoming,
        }
    }

    #[test]
    fn stock_goes_to_the_oldest_order_first_and_prints_cover_their_own_line() {
        let covers = share_stock(3, &[need(5, 0), need(4, 0)]);
        assert_eq!((covers[0].from_stock, covers[0].short), (3, 2));
        assert_eq!((covers[1].from_stock, covers[1].short), (0, 4));
        // The first order's two prints are queued: it is no longer short, the second still is.
        let covers = share_stock(3, &[need(5, 2), need(4, 0)]);
        assert_eq!(covers[0].short, 0);
        assert_eq!(
            covers[1].short, 4,
            "the first order's prints are not the second's"
        );
        // A restock of 4 (7 in all): the first takes the 3 its prints won't bring, the second
        // the other 4, so nothing more is printed; the first waits for its own prints.
        let covers = share_stock(7, &[need(5, 2), need(4, 0)]);
        assert_eq!(covers[0].from_stock, 3);
        assert!(!covers[0].is_ready(need(5, 2)));
        assert!(covers[1].is_ready(need(4, 0)));
        assert_eq!(covers.iter().map(|c| c.short).sum::<i64>(), 0);
        // Once they land the first is ready too.
        let covers = share_stock(5, &[need(5, 0), need(0, 0)]);
        assert!(covers[0].is_ready(need(5, 0)));
    }

    #[test]
    fn shared_stock_never_promises_a_unit_twice() {
        for ready in 0..12 {
            let needs = [need(4, 1), need(0, 0), need(3, 3), need(6, 0)];
            let covers = share_stock(ready, &needs);
            let handed: i64 = covers.iter().map(|c| c.from_stock).sum();
            assert!(handed <= ready);
            for (cover, need) in covers.iter().zip(needs) {
                assert_eq!(
                    cover.from_stock
                        + cover.incoming.min(need.remaining - cover.from_stock)
                        + cover.short,
                    need.remaining
                );
            }
        }
        assert_eq!(share_stock(-2, &[need(1, 0)])[0].short, 1);
    }
}
