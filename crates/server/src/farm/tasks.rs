//! The operator's loop: worklist tasks and what closing them does to the farm.
//!
//! - completing a **collection** task clears the printer's bed (the dispatcher may start
//!   the next job there), and clearing the bed from the printer's page completes it;
//! - completing an **assembly** (its assembly task, or the worklist task standing for it)
//!   moves its units from needs-assembly to ready stock, never below zero, and lets the
//!   orders waiting for that SKU take them;
//! - completing a **maintenance** task records the maintenance (the next falls due from
//!   the print time now), and recording it from the printer's page completes the task;
//!   maintenance falls due by print hours ([`maintenance_check_in`]);
//! - a **filament change** is closed by the operator, or when the printer's report shows
//!   the filament loaded ([`Farm::filament_seen`]).
//!
//! Every path runs in one transaction and tells the dashboards after it commits.

use super::{Farm, FarmError, FarmResult};
use crate::audit::{Actor, Change};
use domain::TenantId;
use domain::worklist::{AssemblyStatus, TaskClock, TaskStatus, TaskType};
use proto::dashboard::ServerMessage;
use serde::Serialize;
use serde_json::json;
use store::Conn;
use store::assembly::AssemblyTask;
use store::finished_goods::FinishedGood;
use store::printers::Printer;
use store::worklist::{NewTask, Task};

/// What a change left to tell once its transaction commits.
#[derive(Debug, Default)]
pub struct Aftermath {
    /// Tasks made or moved.
    tasks: Vec<Task>,
    /// Printers whose record changed, with what changed.
    printers: Vec<(Printer, &'static str)>,
    /// A bed was cleared or stock arrived: the dispatcher may have work.
    dispatch: bool,
}

/// What a change of an assembly task sets (the handler merged it with the stored task).
#[derive(Debug, Clone, Copy)]
pub struct AssemblyChange<'a> {
    /// Who assembles it.
    pub assigned_to: Option<&'a str>,
    /// Units to assemble.
    pub quantity: i64,
    /// Notes.
    pub notes: Option<&'a str>,
}

/// An assembly completed.
#[derive(Debug, Clone, Serialize)]
pub struct Assembled {
    /// The assembly task, completed.
    pub task: AssemblyTask,
    /// Units moved from needs-assembly to ready stock (fewer than the task names when
    /// fewer waited: stock never goes below zero).
    pub units_moved: i64,
    /// The finished good as it now is.
    pub finished_good: Option<FinishedGood>,
}

fn task_not_found() -> FarmError {
    FarmError::NotFound {
        code: "TASK_NOT_FOUND",
        what: "task",
    }
}

fn assembly_not_found() -> FarmError {
    FarmError::NotFound {
        code: "ASSEMBLY_TASK_NOT_FOUND",
        what: "assembly task",
    }
}

/// The task's status and times, typed.
fn clock_of(task: &Task) -> TaskClock {
    let at = |t: &Option<String>| t.as_deref().and_then(domain::time::parse);
    TaskClock {
        status: task.status(),
        started_at: at(&task.started_at),
        completed_at: at(&task.completed_at),
        actual_minutes: task.actual_time_minutes,
    }
}

/// The stored form of a clock.
fn stored(clock: &TaskClock) -> store::worklist::Clock {
    store::worklist::Clock {
        status: clock.status,
        started_at: clock.started_at.map(domain::time::format),
        completed_at: clock.completed_at.map(domain::time::format),
        actual_time_minutes: clock.actual_minutes,
    }
}

impl Farm {
    /// Adds a task and tells the floor.
    pub async fn create_task(
        &self,
        tenant: &TenantId,
        new: &NewTask<'_>,
        actor: Option<&Actor>,
    ) -> FarmResult<Task> {
        let now = store::now_text();
        let mut tx = self.store.begin().await?;
        let task = store::worklist::create(&mut tx, tenant, new, &now).await?;
        let change = Change {
            action: "worklist.created",
            table: "worklist_tasks",
            record: &task.id,
            new: Some(json!({ "task_type": task.task_type, "title": task.title })),
            ..Change::default()
        };
        crate::audit::record_by(&mut tx, tenant, actor, change, &now).await?;
        tx.commit().await?;
        self.announce(
            tenant,
            Aftermath {
                tasks: vec![task.clone()],
                ..Aftermath::default()
            },
        );
        Ok(task)
    }

    /// Moves a task (start, put back, complete, cancel); completing does what the task
    /// stands for (module docs). `minutes` are the operator's own count, when given.
    pub async fn move_task(
        &self,
        tenant: &TenantId,
        id: &str,
        to: TaskStatus,
        minutes: Option<i64>,
        actor: Option<&Actor>,
    ) -> FarmResult<Task> {
        let now = store::now_text();
        let mut tx = self.store.begin().await?;
        let task = store::worklist::get(&mut tx, tenant, id)
            .await
            .map_err(|e| not_found_as(e, task_not_found))?;
        let mut after = Aftermath::default();
        let moved = self
            .move_task_in(&mut tx, tenant, &task, to, minutes, &now, &mut after)
            .await?;
        if moved.status != task.status {
            let change = Change {
                action: "worklist.status_changed",
                table: "worklist_tasks",
                record: &task.id,
                old: Some(json!({ "status": task.status })),
                new: Some(json!({ "status": moved.status,
                    "actual_time_minutes": moved.actual_time_minutes })),
            };
            crate::audit::record_by(&mut tx, tenant, actor, change, &now).await?;
        }
        tx.commit().await?;
        self.announce(tenant, after);
        Ok(moved)
    }

    /// Changes a task's fields and, when `to` is given, moves it as [`Farm::move_task`]
    /// does, in one transaction: a refused move changes nothing.
    pub async fn change_task(
        &self,
        tenant: &TenantId,
        task: &Task,
        fields: &store::worklist::TaskFields,
        to: Option<(TaskStatus, Option<i64>)>,
        actor: Option<&Actor>,
    ) -> FarmResult<Task> {
        let now = store::now_text();
        let mut tx = self.store.begin().await?;
        let mut after = Aftermath::default();
        let mut changed = store::worklist::update(&mut tx, tenant, &task.id, fields, &now).await?;
        if let Some((to, minutes)) = to {
            changed = self
                .move_task_in(&mut tx, tenant, &changed, to, minutes, &now, &mut after)
                .await?;
        }
        let change = Change {
            action: "worklist.updated",
            table: "worklist_tasks",
            record: &task.id,
            old: Some(json!({ "title": task.title, "priority": task.priority,
                "assigned_to": task.assigned_to, "status": task.status })),
            new: Some(
                json!({ "title": changed.title, "priority": changed.priority,
                "assigned_to": changed.assigned_to, "status": changed.status }),
            ),
        };
        crate::audit::record_by(&mut tx, tenant, actor, change, &now).await?;
        tx.commit().await?;
        if !after.tasks.iter().any(|t| t.id == changed.id) {
            after.tasks.push(changed.clone());
        }
        self.announce(tenant, after);
        Ok(changed)
    }

    /// [`Farm::move_task`] inside the caller's transaction.
    #[allow(clippy::too_many_arguments)]
    async fn move_task_in(
        &self,
        tx: &mut Conn,
        tenant: &TenantId,
        task: &Task,
        to: TaskStatus,
        minutes: Option<i64>,
        now: &str,
        after: &mut Aftermath,
    ) -> FarmResult<Task> {
        let at = domain::time::parse(now).unwrap_or_else(chrono::Utc::now);
        let clock =
            domain::worklist::move_task(&clock_of(task), to, minutes, at).map_err(|e| match e {
                domain::worklist::TaskMoveError::NegativeMinutes => {
                    FarmError::invalid("actual_time_minutes", e.to_string())
                }
                domain::worklist::TaskMoveError::Closed(_) => {
                    FarmError::refused("TASK_CLOSED", Some("status"), e.to_string())
                }
            })?;
        if clock.status == task.status() {
            return Ok(task.clone());
        }
        let moved =
            store::worklist::set_clock(tx, tenant, &task.id, task.status(), &stored(&clock), now)
                .await?
                .ok_or_else(|| {
                    FarmError::refused(
                        "TASK_CHANGED",
                        Some("status"),
                        "the task was moved meanwhile; reload it",
                    )
                })?;
        after.tasks.push(moved.clone());
        if to == TaskStatus::Completed {
            self.task_completed_in(tx, tenant, &moved, now).await?;
        }
        match (moved.task_type(), to) {
            (Some(TaskType::Collection), TaskStatus::Completed) => {
                if let Some(printer) = &moved.printer_id {
                    self.bed_cleared_in(tx, tenant, printer, now, after).await?;
                }
            }
            (Some(TaskType::Maintenance), TaskStatus::Completed) => {
                if let Some(printer) = &moved.printer_id {
                    self.maintenance_done_in(tx, tenant, printer, now, after)
                        .await?;
                }
            }
            (Some(TaskType::Assembly), TaskStatus::Completed) => {
                if let Some(assembly) = &moved.assembly_task_id {
                    let assembly = store::assembly::get(tx, tenant, assembly).await?;
                    if assembly.status() != AssemblyStatus::Completed {
                        self.assembly_done_in(tx, tenant, &assembly, now, after)
                            .await?;
                    }
                }
            }
            (Some(TaskType::Assembly), TaskStatus::InProgress) => {
                if let Some(assembly) = &moved.assembly_task_id {
                    store::assembly::set_status(
                        tx,
                        tenant,
                        assembly,
                        AssemblyStatus::Pending,
                        AssemblyStatus::InProgress,
                        now,
                    )
                    .await?;
                }
            }
            _ => {}
        }
        Ok(moved)
    }

    /// Completes open tasks as a side effect of something done elsewhere (no effects of
    /// their own: the caller has done them).
    async fn close_tasks_in(
        &self,
        tx: &mut Conn,
        tenant: &TenantId,
        tasks: Vec<Task>,
        now: &str,
        after: &mut Aftermath,
    ) -> FarmResult<()> {
        let at = domain::time::parse(now).unwrap_or_else(chrono::Utc::now);
        for task in tasks {
            let Ok(clock) =
                domain::worklist::move_task(&clock_of(&task), TaskStatus::Completed, None, at)
            else {
                continue;
            };
            if let Some(done) = store::worklist::set_clock(
                tx,
                tenant,
                &task.id,
                task.status(),
                &stored(&clock),
                now,
            )
            .await?
            {
                self.task_completed_in(tx, tenant, &done, now).await?;
                after.tasks.push(done);
            }
        }
        Ok(())
    }

    /// Tells the farm's rules and channels a task was completed.
    async fn task_completed_in(
        &self,
        tx: &mut Conn,
        tenant: &TenantId,
        task: &Task,
        now: &str,
    ) -> FarmResult<()> {
        use crate::automation::facts;
        use domain::automation::{Fact, Trigger};
        let printer_name = match &task.printer_id {
            Some(id) => store::printers::name_of(tx, tenant, id).await?,
            None => None,
        };
        let text = |v: &Option<String>| v.clone().map(Fact::from);
        let facts = facts([
            ("task_id", Some(Fact::from(task.id.as_str()))),
            ("task_type", Some(Fact::from(task.task_type.as_str()))),
            ("task_title", Some(Fact::from(task.title.as_str()))),
            ("printer_id", text(&task.printer_id)),
            ("printer_name", printer_name.map(Fact::from)),
            ("assigned_to", text(&task.assigned_to)),
        ]);
        let key = format!("task:{}", task.id);
        crate::automation::happened_in(
            &*self.queue,
            tx,
            tenant,
            Trigger::TaskCompleted,
            &key,
            facts,
            now,
        )
        .await?;
        Ok(())
    }

    /// An operator confirms a printer's bed is empty (or not): clearing it completes its
    /// collection tasks and wakes the dispatcher.
    pub async fn set_bed_cleared(
        &self,
        tenant: &TenantId,
        printer: &Printer,
        cleared: bool,
    ) -> FarmResult<Printer> {
        let now = store::now_text();
        let mut tx = self.store.begin().await?;
        let mut after = Aftermath::default();
        let updated = if cleared {
            self.bed_cleared_in(&mut tx, tenant, &printer.id, &now, &mut after)
                .await?
        } else {
            let updated =
                store::printers::set_cleared(&mut tx, tenant, &printer.printer_id(), false, &now)
                    .await?;
            after.printers.push((updated.clone(), "cleared"));
            updated
        };
        tx.commit().await?;
        self.announce(tenant, after);
        Ok(updated)
    }

    /// The bed is clear: marks it, completes the printer's open collection tasks.
    async fn bed_cleared_in(
        &self,
        tx: &mut Conn,
        tenant: &TenantId,
        printer_id: &str,
        now: &str,
        after: &mut Aftermath,
    ) -> FarmResult<Printer> {
        let id = domain::PrinterId::from_stored(printer_id.to_string());
        let printer = store::printers::set_cleared(tx, tenant, &id, true, now).await?;
        self.printer_done_in(
            tx,
            tenant,
            printer,
            TaskType::Collection,
            "cleared",
            now,
            after,
        )
        .await
    }

    /// Maintenance of a printer is done: recorded, its maintenance tasks completed.
    pub async fn maintenance_done(
        &self,
        tenant: &TenantId,
        printer: &Printer,
        actor: Option<&Actor>,
    ) -> FarmResult<Printer> {
        let now = store::now_text();
        let mut tx = self.store.begin().await?;
        let mut after = Aftermath::default();
        let updated = self
            .maintenance_done_in(&mut tx, tenant, &printer.id, &now, &mut after)
            .await?;
        let change = Change {
            action: "printer.maintenance_done",
            table: "printers",
            record: &printer.id,
            new: Some(json!({ "total_print_time": updated.total_print_time })),
            ..Change::default()
        };
        crate::audit::record_by(&mut tx, tenant, actor, change, &now).await?;
        tx.commit().await?;
        self.announce(tenant, after);
        Ok(updated)
    }

    async fn maintenance_done_in(
        &self,
        tx: &mut Conn,
        tenant: &TenantId,
        printer_id: &str,
        now: &str,
        after: &mut Aftermath,
    ) -> FarmResult<Printer> {
        let printer = store::printers::maintenance_done(tx, tenant, printer_id, now).await?;
        self.printer_done_in(
            tx,
            tenant,
            printer,
            TaskType::Maintenance,
            "maintenance",
            now,
            after,
        )
        .await
    }

    /// What was asked of a printer is done: its open tasks of that kind complete, the
    /// dashboards redraw it and the dispatcher looks at it again.
    #[allow(clippy::too_many_arguments)]
    async fn printer_done_in(
        &self,
        tx: &mut Conn,
        tenant: &TenantId,
        printer: Printer,
        kind: TaskType,
        change: &'static str,
        now: &str,
        after: &mut Aftermath,
    ) -> FarmResult<Printer> {
        let open = store::worklist::open_for_printer(tx, tenant, &printer.id, kind).await?;
        self.close_tasks_in(tx, tenant, open, now, after).await?;
        after.printers.push((printer.clone(), change));
        after.dispatch = true;
        Ok(printer)
    }

    /// Moves an assembly task by hand: completing moves its units (module docs); a
    /// completed one stays so.
    pub async fn move_assembly(
        &self,
        tenant: &TenantId,
        id: &str,
        to: AssemblyStatus,
        actor: Option<&Actor>,
    ) -> FarmResult<Assembled> {
        let now = store::now_text();
        let mut tx = self.store.begin().await?;
        let task = store::assembly::get(&mut tx, tenant, id)
            .await
            .map_err(|e| not_found_as(e, assembly_not_found))?;
        let mut after = Aftermath::default();
        let done = self
            .move_assembly_in(&mut tx, tenant, &task, to, &now, actor, &mut after)
            .await?;
        tx.commit().await?;
        self.announce(tenant, after);
        Ok(done)
    }

    /// Changes an assembly task's assignee, units and notes, and moves it if `to` says so,
    /// in one transaction: a refused move leaves nothing changed.
    pub async fn change_assembly(
        &self,
        tenant: &TenantId,
        id: &str,
        change: AssemblyChange<'_>,
        to: Option<AssemblyStatus>,
        actor: Option<&Actor>,
    ) -> FarmResult<Assembled> {
        let now = store::now_text();
        let mut tx = self.store.begin().await?;
        let task = store::assembly::get(&mut tx, tenant, id)
            .await
            .map_err(|e| not_found_as(e, assembly_not_found))?;
        if task.status() == AssemblyStatus::Completed && change.quantity != task.quantity {
            return Err(FarmError::refused(
                "ASSEMBLY_COMPLETED",
                Some("quantity"),
                "a completed assembly's units are in stock already",
            ));
        }
        let updated = store::assembly::update(
            &mut tx,
            tenant,
            id,
            change.assigned_to,
            change.quantity,
            change.notes,
            &now,
        )
        .await?;
        let audit = Change {
            action: "assembly.updated",
            table: "assembly_tasks",
            record: &task.id,
            old: Some(json!({ "quantity": task.quantity, "assigned_to": task.assigned_to })),
            new: Some(json!({ "quantity": updated.quantity, "assigned_to": updated.assigned_to })),
        };
        crate::audit::record_by(&mut tx, tenant, actor, audit, &now).await?;
        let mut after = Aftermath::default();
        let done = match to {
            Some(to) if to != updated.status() => {
                self.move_assembly_in(&mut tx, tenant, &updated, to, &now, actor, &mut after)
                    .await?
            }
            _ => Assembled {
                task: updated,
                units_moved: 0,
                finished_good: None,
            },
        };
        tx.commit().await?;
        self.announce(tenant, after);
        Ok(done)
    }

    /// Removes an assembly task; its open worklist tasks are cancelled with it, in one
    /// transaction.
    pub async fn delete_assembly(
        &self,
        tenant: &TenantId,
        id: &str,
        actor: Option<&Actor>,
    ) -> FarmResult<AssemblyTask> {
        let now = store::now_text();
        let mut tx = self.store.begin().await?;
        let task = store::assembly::get(&mut tx, tenant, id)
            .await
            .map_err(|e| not_found_as(e, assembly_not_found))?;
        let mut after = Aftermath::default();
        for open in store::worklist::open_of_assembly(&mut tx, tenant, id).await? {
            self.move_task_in(
                &mut tx,
                tenant,
                &open,
                TaskStatus::Cancelled,
                None,
                &now,
                &mut after,
            )
            .await?;
        }
        store::assembly::delete(&mut tx, tenant, id).await?;
        let audit = Change {
            action: "assembly.deleted",
            table: "assembly_tasks",
            record: &task.id,
            old: Some(json!({ "sku": task.sku, "quantity": task.quantity, "status": task.status })),
            ..Change::default()
        };
        crate::audit::record_by(&mut tx, tenant, actor, audit, &now).await?;
        tx.commit().await?;
        self.announce(tenant, after);
        Ok(task)
    }

    /// [`Farm::move_assembly`] inside the caller's transaction.
    #[allow(clippy::too_many_arguments)]
    async fn move_assembly_in(
        &self,
        tx: &mut Conn,
        tenant: &TenantId,
        task: &AssemblyTask,
        to: AssemblyStatus,
        now: &str,
        actor: Option<&Actor>,
        after: &mut Aftermath,
    ) -> FarmResult<Assembled> {
        let id = task.id.as_str();
        let from = task.status();
        let done = match (from, to) {
            (AssemblyStatus::Completed, AssemblyStatus::Completed) => {
                return Err(FarmError::refused(
                    "ASSEMBLY_COMPLETED",
                    Some("status"),
                    "the assembly task is already completed",
                ));
            }
            (AssemblyStatus::Completed, _) => {
                return Err(FarmError::refused(
                    "ASSEMBLY_COMPLETED",
                    Some("status"),
                    "a completed assembly stays completed: its units are in stock",
                ));
            }
            (_, AssemblyStatus::Completed) => {
                self.assembly_done_in(tx, tenant, task, now, after).await?
            }
            (from, to) if from == to => Assembled {
                task: task.clone(),
                units_moved: 0,
                finished_good: None,
            },
            (from, to) => {
                let moved = store::assembly::set_status(tx, tenant, id, from, to, now)
                    .await?
                    .ok_or_else(changed_meanwhile)?;
                // Its worklist task follows: started together, put back together.
                let at = domain::time::parse(now).unwrap_or_else(chrono::Utc::now);
                let status = match to {
                    AssemblyStatus::InProgress => TaskStatus::InProgress,
                    _ => TaskStatus::Pending,
                };
                for open in store::worklist::open_of_assembly(tx, tenant, id).await? {
                    if let Ok(clock) =
                        domain::worklist::move_task(&clock_of(&open), status, None, at)
                        && let Some(t) = store::worklist::set_clock(
                            tx,
                            tenant,
                            &open.id,
                            open.status(),
                            &stored(&clock),
                            now,
                        )
                        .await?
                    {
                        after.tasks.push(t);
                    }
                }
                Assembled {
                    task: moved,
                    units_moved: 0,
                    finished_good: None,
                }
            }
        };
        if done.task.status != task.status {
            let change = Change {
                action: "assembly.status_changed",
                table: "assembly_tasks",
                record: &task.id,
                old: Some(json!({ "status": task.status })),
                new: Some(json!({ "status": done.task.status, "units_moved": done.units_moved })),
            };
            crate::audit::record_by(tx, tenant, actor, change, now).await?;
        }
        Ok(done)
    }

    /// Completes an assembly: its units move to ready stock (as many as wait, never below
    /// zero), its worklist tasks complete, and orders waiting for the SKU take the stock.
    async fn assembly_done_in(
        &self,
        tx: &mut Conn,
        tenant: &TenantId,
        task: &AssemblyTask,
        now: &str,
        after: &mut Aftermath,
    ) -> FarmResult<Assembled> {
        let good = match store::finished_goods::lock(tx, tenant, &task.finished_good_id).await {
            Ok(good) => Some(good),
            Err(store::StoreError::NotFound) => None,
            Err(other) => return Err(other.into()),
        };
        let mut units_moved = 0;
        let mut finished_good = good.clone();
        if let Some(good) = &good {
            units_moved =
                domain::worklist::units_to_assemble(task.quantity, good.quantity_needs_assembly);
            if units_moved > 0 {
                finished_good =
                    store::finished_goods::assemble(tx, tenant, &good.id, units_moved, now).await?;
            }
        }
        let completed = store::assembly::set_status(
            tx,
            tenant,
            &task.id,
            task.status(),
            AssemblyStatus::Completed,
            now,
        )
        .await?
        .ok_or_else(changed_meanwhile)?;
        let open = store::worklist::open_of_assembly(tx, tenant, &task.id).await?;
        self.close_tasks_in(tx, tenant, open, now, after).await?;
        {
            use crate::automation::facts;
            use domain::automation::{Fact, Trigger};
            let sku_id = finished_good.as_ref().map(|g| g.product_sku_id.clone());
            let product = match &sku_id {
                Some(id) => match store::catalogue::sku_for_print(tx, tenant, id).await {
                    Ok(sku) => Some(sku.product_id),
                    Err(store::StoreError::NotFound) => None,
                    Err(other) => return Err(other.into()),
                },
                None => None,
            };
            let facts = facts([
                ("task_id", Some(Fact::from(task.id.as_str()))),
                ("product_id", product.map(Fact::from)),
                ("sku_id", sku_id.map(Fact::from)),
                ("sku", Some(Fact::from(task.sku.as_str()))),
                ("product_name", Some(Fact::from(task.product_name.as_str()))),
                ("units", Some(Fact::from(units_moved))),
            ]);
            let key = format!("assembly:{}", task.id);
            crate::automation::happened_in(
                &*self.queue,
                tx,
                tenant,
                Trigger::AssemblyCompleted,
                &key,
                facts,
                now,
            )
            .await?;
        }
        if units_moved > 0
            && let Some(good) = &finished_good
        {
            self.stock_arrived(tx, tenant, &good.product_sku_id, now)
                .await?;
            after.dispatch = true;
        }
        Ok(Assembled {
            task: completed,
            units_moved,
            finished_good,
        })
    }

    /// The printer's report shows these filaments loaded: its open filament-change tasks
    /// whose filament is among them are completed. Returns how many.
    pub async fn filament_seen(
        &self,
        tenant: &TenantId,
        printer_id: &str,
        loaded: &[domain::dispatch::LoadedFilament],
    ) -> FarmResult<usize> {
        let now = store::now_text();
        let mut tx = self.store.begin().await?;
        let open = store::worklist::open_for_printer(
            &mut tx,
            tenant,
            printer_id,
            TaskType::FilamentChange,
        )
        .await?;
        let done: Vec<Task> = open
            .into_iter()
            .filter(|task| {
                let wanted = task
                    .metadata
                    .as_deref()
                    .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok());
                let wanted = wanted.as_ref();
                let filament_type = wanted.and_then(|m| m["filament_type"].as_str());
                let colour = wanted.and_then(|m| m["colour_hex"].as_str());
                domain::dispatch::holds_filament(loaded, filament_type, colour)
            })
            .collect();
        let count = done.len();
        if count == 0 {
            return Ok(0);
        }
        let mut after = Aftermath::default();
        self.close_tasks_in(&mut tx, tenant, done, &now, &mut after)
            .await?;
        tx.commit().await?;
        after.dispatch = true;
        self.announce(tenant, after);
        Ok(count)
    }

    /// Tells the dashboards what a committed change did, and the dispatcher when it has work.
    pub fn announce(&self, tenant: &TenantId, after: Aftermath) {
        for task in after.tasks {
            self.publish_task(tenant, &task);
        }
        for (printer, change) in after.printers {
            self.realtime.publish(
                tenant,
                ServerMessage::PrinterUpdated {
                    printer_id: Some(crate::realtime::printer_number(&printer)),
                    printer_uuid: Some(printer.id.clone()),
                    change: change.to_string(),
                },
            );
        }
        if after.dispatch {
            self.wake_dispatcher(tenant);
        }
    }

    /// Tells the farm's dashboards a task appeared or moved.
    pub fn publish_task(&self, tenant: &TenantId, task: &Task) {
        self.realtime.publish(tenant, task_message(task));
    }
}

/// After a print added to a printer's hours: when its maintenance falls due and no
/// maintenance task is open for it, one is made. Returns it.
pub async fn maintenance_check_in(
    tx: &mut Conn,
    tenant: &TenantId,
    printer_id: &str,
    now: &str,
) -> FarmResult<Option<Task>> {
    let key =
        store::printers::PrinterKey::Id(domain::PrinterId::from_stored(printer_id.to_string()));
    let printer = store::printers::get(tx, tenant, &key).await?;
    if !domain::worklist::maintenance_due(
        printer.total_print_time,
        printer.print_minutes_at_maintenance,
        printer.maintenance_interval_hours,
    ) {
        return Ok(None);
    }
    if !store::worklist::open_for_printer(tx, tenant, printer_id, TaskType::Maintenance)
        .await?
        .is_empty()
    {
        return Ok(None);
    }
    let hours = (printer.total_print_time - printer.print_minutes_at_maintenance) / 60;
    let title = format!("Maintain {}", printer.name);
    let subtitle = format!(
        "{hours} print hours since the last maintenance (every {} h)",
        printer.maintenance_interval_hours
    );
    let metadata = json!({ "print_hours": hours,
        "interval_hours": printer.maintenance_interval_hours,
        "last_maintenance_date": printer.last_maintenance_date });
    let task = store::worklist::create(
        tx,
        tenant,
        &NewTask {
            task_type: TaskType::Maintenance.as_str(),
            title: &title,
            subtitle: Some(&subtitle),
            description: Some(
                "Clean and lubricate the rods, check the nozzle, belts and build plate, then complete this task.",
            ),
            priority: "medium",
            printer_id: Some(printer_id),
            estimated_time_minutes: Some(30),
            metadata: Some(&metadata),
            ..NewTask::default()
        },
        now,
    )
    .await?;
    Ok(Some(task))
}

/// Units of a finished good wait for assembly: an assembly task and the worklist task
/// that puts it on the floor.
pub async fn assembly_needed_in(
    tx: &mut Conn,
    tenant: &TenantId,
    good: &FinishedGood,
    product_name: &str,
    units: i64,
    metadata: serde_json::Value,
    now: &str,
) -> FarmResult<(AssemblyTask, Task)> {
    let assembly = store::assembly::create(
        tx,
        tenant,
        &store::assembly::NewAssembly {
            finished_good_id: &good.id,
            product_name,
            sku: &good.sku,
            quantity: units,
            ..Default::default()
        },
        now,
    )
    .await?;
    let title = format!("Assemble {units} × {product_name} ({})", good.sku);
    let task = store::worklist::create(
        tx,
        tenant,
        &NewTask {
            task_type: TaskType::Assembly.as_str(),
            title: &title,
            priority: "medium",
            assembly_task_id: Some(&assembly.id),
            metadata: Some(&metadata),
            ..NewTask::default()
        },
        now,
    )
    .await?;
    Ok((assembly, task))
}

/// The dashboard message of a task that appeared or moved.
pub fn task_message(task: &Task) -> ServerMessage {
    ServerMessage::TaskUpdated {
        task_id: task.id.clone(),
        task_type: task.task_type.clone(),
        status: task.status.clone(),
        priority: task.priority.clone(),
        title: task.title.clone(),
        printer_id: task.printer_id.clone(),
    }
}

fn changed_meanwhile() -> FarmError {
    FarmError::refused(
        "ASSEMBLY_CHANGED",
        Some("status"),
        "the assembly task was moved meanwhile; reload it",
    )
}

/// A missing row as the service's own not-found.
fn not_found_as(err: store::StoreError, missing: fn() -> FarmError) -> FarmError {
    match err {
        store::StoreError::NotFound => missing(),
        other => other.into(),
    }
}

/// How long a cancelled filament change keeps the rule from asking it again.
const CANCELLED_ASK_HOLDS: chrono::Duration = chrono::Duration::hours(24);

impl Farm {
    /// After a dispatch pass: asks operators to load the filaments that waiting jobs need on
    /// free printers ([`domain::dispatch::filament_changes`]), one task per printer and job,
    /// never again for a job while its task is open or was cancelled within a day.
    pub async fn ask_filament_changes(
        &self,
        tenant: &TenantId,
        fleet: &[domain::dispatch::PrinterFacts],
        waiting: &[domain::dispatch::QueuedJob],
    ) -> FarmResult<Vec<Task>> {
        if waiting.is_empty() {
            return Ok(Vec::new());
        }
        let now = store::now_text();
        let since = domain::time::format(chrono::Utc::now() - CANCELLED_ASK_HOLDS);
        let mut conn = self.store.conn().await?;
        let asked_tasks =
            store::worklist::asked_lately(&mut conn, tenant, TaskType::FilamentChange, &since)
                .await?;
        drop(conn);
        let busy = asked_tasks
            .iter()
            .filter(|t| !t.status().is_closed())
            .filter_map(|t| t.printer_id.clone())
            .map(domain::PrinterId::from_stored)
            .collect();
        let asked = asked_tasks
            .iter()
            .filter_map(|t| t.metadata.as_deref())
            .filter_map(|m| serde_json::from_str::<serde_json::Value>(m).ok())
            .filter_map(|m| m["job_id"].as_str().map(str::to_string))
            .collect();
        let changes = domain::dispatch::filament_changes(fleet, waiting, &asked, &busy);
        // Most passes ask nothing: no write transaction for them.
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.store.begin().await?;
        let mut made = Vec::with_capacity(changes.len());
        for change in &changes {
            let filament = [
                change.filament_type.as_deref(),
                change.colour_hex.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
            let title = format!("Load {filament} on {}", change.printer_name);
            let subtitle = match change.slot {
                Some(slot) => format!(
                    "into {} — a queued job needs it",
                    domain::dispatch::slot_name(slot)
                ),
                None => "a queued job needs it".to_string(),
            };
            let metadata = json!({ "job_id": change.job_id, "filament_type": change.filament_type,
                "colour_hex": change.colour_hex, "slot": change.slot });
            let task = store::worklist::create(
                &mut tx,
                tenant,
                &NewTask {
                    task_type: TaskType::FilamentChange.as_str(),
                    title: &title,
                    subtitle: Some(&subtitle),
                    description: Some(
                        "Load the filament; the task closes itself when the printer reports it loaded.",
                    ),
                    priority: "high",
                    printer_id: Some(change.printer.as_str()),
                    estimated_time_minutes: Some(5),
                    metadata: Some(&metadata),
                    ..NewTask::default()
                },
                &now,
            )
            .await?;
            made.push(task);
        }
        tx.commit().await?;
        self.announce(
            tenant,
            Aftermath {
                tasks: made.clone(),
                ..Aftermath::default()
            },
        );
        Ok(made)
    }
}
