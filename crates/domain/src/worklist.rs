//! The worklist: what operators do next on the floor (collect a print, assemble, load a
//! filament, maintain a printer, check quality), and the assembly of printed units.
//!
//! A task's times follow its status: starting it stamps `started_at`, finishing it stamps
//! `completed_at` and the minutes it took. Completed and cancelled tasks are closed: what
//! completing did (a bed cleared, units assembled) is not undone by reopening, so they stay
//! closed and a new task is made instead.

use crate::printers::name_set;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

name_set!(
    /// What kind of work a task is (`worklist_tasks.task_type`).
    TaskType, "task type" {
        /// Put printed units together.
        Assembly => "assembly",
        /// Load a filament a queued job needs.
        FilamentChange => "filament_change",
        /// Take a finished print off the bed.
        Collection => "collection",
        /// Service a printer.
        Maintenance => "maintenance",
        /// Check prints before they are sold.
        QualityCheck => "quality_check",
    }
);

name_set!(
    /// How soon a task should be done.
    TaskPriority, "priority" {
        /// When there is time.
        Low => "low",
        /// In the normal course.
        Medium => "medium",
        /// First.
        High => "high",
    }
);

name_set!(
    /// Where a task is (`worklist_tasks.status`).
    TaskStatus, "task status" {
        /// Waiting for someone.
        Pending => "pending",
        /// Someone is on it.
        InProgress => "in_progress",
        /// Done.
        Completed => "completed",
        /// Called off.
        Cancelled => "cancelled",
    }
);

name_set!(
    /// Where an assembly task is (`assembly_tasks.status`).
    AssemblyStatus, "assembly status" {
        /// Waiting for someone.
        Pending => "pending",
        /// Being assembled.
        InProgress => "in_progress",
        /// Assembled; its units moved to assembled stock.
        Completed => "completed",
    }
);

impl TaskStatus {
    /// Whether the task is over (completed or cancelled).
    pub fn is_closed(self) -> bool {
        matches!(self, TaskStatus::Completed | TaskStatus::Cancelled)
    }
}

/// A task's status and the times that follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskClock {
    /// Where the task is.
    pub status: TaskStatus,
    /// When someone last started it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it was completed or cancelled.
    pub completed_at: Option<DateTime<Utc>>,
    /// Minutes it took.
    pub actual_minutes: Option<i64>,
}

/// Why a task cannot move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskMoveError {
    /// It is completed or cancelled.
    #[error("the task is already {0}")]
    Closed(TaskStatus),
    /// Minutes given are negative.
    #[error("actual_time_minutes must be zero or more")]
    NegativeMinutes,
}

/// Moves a task to `to` at `now`: starting stamps the start, completing stamps the end and
/// the minutes since the start (unless the operator gives them), going back to pending
/// forgets the start. A closed task stays closed; a move to its own status changes nothing.
pub fn move_task(
    clock: &TaskClock,
    to: TaskStatus,
    stated_minutes: Option<i64>,
    now: DateTime<Utc>,
) -> Result<TaskClock, TaskMoveError> {
    if stated_minutes.is_some_and(|m| m < 0) {
        return Err(TaskMoveError::NegativeMinutes);
    }
    if clock.status == to {
        return Ok(clock.clone());
    }
    if clock.status.is_closed() {
        return Err(TaskMoveError::Closed(clock.status));
    }
    let mut next = clock.clone();
    next.status = to;
    match to {
        TaskStatus::Pending => next.started_at = None,
        TaskStatus::InProgress => next.started_at = Some(now),
        TaskStatus::Completed => {
            next.completed_at = Some(now);
            next.actual_minutes = stated_minutes.or_else(|| {
                clock
                    .started_at
                    .map(|started| (now - started).num_minutes().max(0))
            });
        }
        TaskStatus::Cancelled => next.completed_at = Some(now),
    }
    Ok(next)
}

/// Units an assembly moves: what it names, but never more than waits for assembly (stock is
/// never taken below zero).
pub fn units_to_assemble(quantity: i64, needs_assembly: i64) -> i64 {
    quantity.min(needs_assembly).max(0)
}

/// Maintenance falls due after this many print hours when the printer states no interval.
pub const DEFAULT_MAINTENANCE_HOURS: i64 = 200;

/// Whether a printer's maintenance is due: `interval_hours` of printing since the last
/// maintenance (minutes counted), and the interval is on (more than zero).
pub fn maintenance_due(
    total_print_minutes: i64,
    minutes_at_last_maintenance: i64,
    interval_hours: i64,
) -> bool {
    interval_hours > 0 && total_print_minutes - minutes_at_last_maintenance >= interval_hours * 60
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 9, minute, 0).unwrap()
    }

    fn pending() -> TaskClock {
        TaskClock {
            status: TaskStatus::Pending,
            started_at: None,
            completed_at: None,
            actual_minutes: None,
        }
    }

    #[test]
    fn starting_stamps_the_start_and_completing_counts_the_minutes_since() {
        let started = move_task(&pending(), TaskStatus::InProgress, None, at(0)).unwrap();
        assert_eq!(started.started_at, Some(at(0)));
        let done = move_task(&started, TaskStatus::Completed, None, at(17)).unwrap();
        assert_eq!(done.completed_at, Some(at(17)));
        assert_eq!(done.actual_minutes, Some(17));
        assert_eq!(done.started_at, Some(at(0)));
    }

    #[test]
    fn minutes_the_operator_gives_win_and_a_task_never_started_has_none_of_its_own() {
        let done = move_task(&pending(), TaskStatus::Completed, None, at(5)).unwrap();
        assert_eq!(done.actual_minutes, None);
        let stated = move_task(&pending(), TaskStatus::Completed, Some(12), at(5)).unwrap();
        assert_eq!(stated.actual_minutes, Some(12));
        assert_eq!(
            move_task(&pending(), TaskStatus::Completed, Some(-1), at(5)),
            Err(TaskMoveError::NegativeMinutes)
        );
    }

    #[test]
    fn a_closed_task_stays_closed_and_a_repeated_move_changes_nothing() {
        let done = move_task(&pending(), TaskStatus::Completed, None, at(5)).unwrap();
        assert_eq!(
            move_task(&done, TaskStatus::Pending, None, at(6)),
            Err(TaskMoveError::Closed(TaskStatus::Completed))
        );
        assert_eq!(
            move_task(&done, TaskStatus::Completed, None, at(9)).unwrap(),
            done
        );
        let cancelled = move_task(&pending(), TaskStatus::Cancelled, None, at(5)).unwrap();
        assert_eq!(cancelled.completed_at, Some(at(5)));
        assert!(move_task(&cancelled, TaskStatus::InProgress, None, at(6)).is_err());
    }

    #[test]
    fn putting_a_task_back_forgets_its_start() {
        let started = move_task(&pending(), TaskStatus::InProgress, None, at(0)).unwrap();
        let back = move_task(&started, TaskStatus::Pending, None, at(3)).unwrap();
        assert_eq!(back.started_at, None);
        let again = move_task(&back, TaskStatus::InProgress, None, at(10)).unwrap();
        let done = move_task(&again, TaskStatus::Completed, None, at(14)).unwrap();
        assert_eq!(done.actual_minutes, Some(4));
    }

    #[test]
    fn assembly_never_takes_stock_below_zero() {
        assert_eq!(units_to_assemble(4, 10), 4);
        assert_eq!(units_to_assemble(4, 3), 3);
        assert_eq!(units_to_assemble(4, 0), 0);
        assert_eq!(units_to_assemble(4, -2), 0);
    }

    #[test]
    fn maintenance_falls_due_after_the_interval_of_print_hours() {
        assert!(!maintenance_due(199 * 60, 0, 200));
        assert!(maintenance_due(200 * 60, 0, 200));
        assert!(!maintenance_due(300 * 60, 150 * 60, 200));
        assert!(maintenance_due(350 * 60, 150 * 60, 200));
        assert!(!maintenance_due(10_000 * 60, 0, 0));
    }

    #[test]
    fn names_read_as_stored() {
        assert_eq!(
            "filament_change".parse::<TaskType>(),
            Ok(TaskType::FilamentChange)
        );
        assert!("repair".parse::<TaskType>().is_err());
        assert_eq!(TaskStatus::InProgress.as_str(), "in_progress");
    }
}
