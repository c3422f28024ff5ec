//! The Pi's tables as the importer knows them, and how each row becomes a PrintFarm row:
//! which columns a table must have, which it may have, and the value rules per column.

use std::collections::{HashMap, HashSet};

use store::import::{Field, Kind, Table};

use super::normalise::{self as n, Normalised};
use super::source::{PiRow, PiValue};
use crate::report::{ChangeLine, ChangeLog, Problem};

/// One Pi table the importer reads.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The Pi's table name (the same as PrintFarm's).
    pub table: Table,
    /// Columns without which the table cannot be read.
    pub required: &'static [&'static str],
    /// Every other column the importer knows (read, or known and left on purpose).
    pub known: &'static [&'static str],
}

/// The tables in the order they are written (each refers only to those before it,
/// except `products.print_file_id`, which has no foreign key).
pub const SPECS: [Spec; 10] = [
    Spec {
        table: Table::BuildPlateTypes,
        required: &["id", "name"],
        known: &[
            "tenant_id",
            "description",
            "is_active",
            "created_at",
            "updated_at",
        ],
    },
    Spec {
        table: Table::ColorPresets,
        required: &["id", "color_name"],
        known: &[
            "tenant_id",
            "hex_code",
            "filament_type",
            "is_active",
            "created_at",
        ],
    },
    Spec {
        table: Table::Printers,
        required: &["id", "name", "model"],
        known: &[
            "tenant_id",
            "manufacturer",
            "firmware_version",
            "total_print_time",
            "last_maintenance_date",
            "status",
            "current_color",
            "current_color_hex",
            "current_filament_type",
            "location",
            "connection_type",
            "ip_address",
            "serial_number",
            "access_code",
            "is_connected",
            "last_connection_attempt",
            "connection_error",
            "is_active",
            "sort_order",
            "printer_id",
            "created_at",
            "updated_at",
            "filament_level",
            "current_build_plate",
            "nozzle_size",
            "cleared",
            "consecutive_failures",
            "disabled_reason",
            "disabled_at",
            "in_maintenance",
            "maintenance_type",
        ],
    },
    Spec {
        table: Table::Products,
        required: &["id", "name"],
        known: &[
            "tenant_id",
            "description",
            "category",
            "print_file_id",
            "file_name",
            "requires_assembly",
            "image_url",
            "is_active",
            "created_at",
            "updated_at",
            "requires_post_processing",
            "printer_priority",
            "wiki_id",
        ],
    },
    Spec {
        table: Table::PrintFiles,
        required: &["id", "name"],
        known: &[
            "tenant_id",
            "product_id",
            "file_size_bytes",
            "number_of_units",
            "local_file_path",
            "created_at",
            "updated_at",
            "print_time_seconds",
            "filament_weight_grams",
            "filament_length_meters",
            "filament_type",
            "printer_model_id",
            "nozzle_diameter",
            "layer_count",
            "curr_bed_type",
            "default_print_profile",
            "object_count",
        ],
    },
    Spec {
        table: Table::ProductSkus,
        required: &["id", "product_id", "sku"],
        known: &[
            "tenant_id",
            "color",
            "filament_type",
            "hex_code",
            "quantity",
            "stock_level",
            "price",
            "is_active",
            "created_at",
            "updated_at",
            "low_stock_threshold",
        ],
    },
    Spec {
        table: Table::PrintJobs,
        required: &["id", "print_file_id"],
        known: &[
            "tenant_id",
            "printer_id",
            "product_sku_id",
            "submitted_by",
            "file_name",
            "status",
            "color",
            "filament_type",
            "material_type",
            "number_of_units",
            "filament_needed_grams",
            "estimated_print_time_minutes",
            "actual_print_time_minutes",
            "progress_percentage",
            "priority",
            "failure_reason",
            "time_submitted",
            "time_started",
            "time_completed",
            "created_at",
            "updated_at",
            "bambu_job_id",
            "printer_numeric_id",
            "last_sync_time",
            "requires_assembly",
            "quantity_per_print",
            "product_id",
            "product_name",
            "sku_name",
            "printer_model",
            "printer_name",
        ],
    },
    Spec {
        table: Table::FinishedGoods,
        required: &["id", "product_sku_id"],
        known: &[
            "tenant_id",
            "print_job_id",
            "sku",
            "color",
            "material",
            "current_stock",
            "low_stock_threshold",
            "quantity_per_sku",
            "unit_price",
            "extra_cost",
            "profit_margin",
            "requires_assembly",
            "quantity_assembled",
            "quantity_needs_assembly",
            "status",
            "image_url",
            "is_active",
            "created_at",
            "updated_at",
            "assembly_status",
        ],
    },
    Spec {
        table: Table::AssemblyTasks,
        required: &["id", "finished_good_id"],
        known: &[
            "tenant_id",
            "assigned_to",
            "product_name",
            "sku",
            "quantity",
            "status",
            "notes",
            "created_at",
            "updated_at",
            "completed_at",
        ],
    },
    Spec {
        table: Table::WorklistTasks,
        required: &["id", "title", "task_type"],
        known: &[
            "tenant_id",
            "assembly_task_id",
            "printer_id",
            "assigned_to",
            "subtitle",
            "description",
            "priority",
            "status",
            "order_number",
            "estimated_time_minutes",
            "actual_time_minutes",
            "started_at",
            "completed_at",
            "due_date",
            "metadata",
            "created_at",
            "updated_at",
        ],
    },
];

/// Pi tables known and read past on purpose, with the reason the report gives.
pub const NOT_IMPORTED: [(&str, &str); 1] = [(
    "sync_logs",
    "the Pi's log of its own cloud sync; nothing in PrintFarm reads it",
)];

/// The PrintFarm id of a Pi row: a UUID made from the farm, the table and the Pi's id,
/// so every run of the same import maps a row to the same id, and two farms importing the
/// same Pi file never collide.
pub fn map_id(tenant: &str, table: Table, pi_id: &str) -> String {
    let namespace = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, b"printfarm/pi-import");
    uuid::Uuid::new_v5(
        &namespace,
        format!("{tenant}/{}/{pi_id}", table.as_str()).as_bytes(),
    )
    .to_string()
}

/// What the mapping of rows needs to know and collects along the way.
pub struct Context {
    /// The farm.
    pub tenant: String,
    /// When the run started (a required time the Pi lacks).
    pub now: String,
    /// Per table, the Pi ids of the rows imported so far (references are checked against
    /// them); the print files' ids are all known up front.
    pub imported: HashMap<Table, HashSet<String>>,
    /// The SKU codes as stored, by Pi SKU id (a duplicate code is renamed).
    pub sku_codes: HashMap<String, String>,
    /// Unique keys taken within this import: (table, key) → Pi id.
    pub taken: HashMap<(Table, String), String>,
    /// Every value rewritten.
    pub changes: ChangeLog,
    /// Rows that did not come over whole.
    pub problems: Vec<Problem>,
    /// Rows kept for the spot check after the import, per table.
    pub samples: HashMap<Table, Vec<Planned>>,
    /// Rows written per table so far (the samples' spread).
    seen: std::collections::BTreeMap<Table, u64>,
}

impl Context {
    /// A context for the farm `tenant`, at `now`.
    pub fn new(tenant: &str, now: &str) -> Context {
        Context {
            tenant: tenant.to_string(),
            now: now.to_string(),
            imported: HashMap::new(),
            sku_codes: HashMap::new(),
            taken: HashMap::new(),
            changes: ChangeLog::default(),
            problems: Vec::new(),
            samples: HashMap::new(),
            seen: Default::default(),
        }
    }

    /// Keeps `planned` (as written) among the table's spot-check samples, maybe.
    pub fn remember(&mut self, table: Table, planned: &Planned) {
        super::keep_sample(&mut self.samples, &mut self.seen, table, planned);
    }

    fn problem(&mut self, table: Table, id: &str, message: String) {
        self.problems.push(Problem {
            table: table.as_str().to_string(),
            id: id.to_string(),
            message,
        });
    }

    fn knows(&self, table: Table, pi_id: &str) -> bool {
        self.imported
            .get(&table)
            .is_some_and(|ids| ids.contains(pi_id))
    }

    /// Takes a unique `key` of `table` for `pi_id`: the key itself when free in this
    /// import, else the first of `key-2`, `key-3`, ... (`rename` says how a suffix is added).
    fn unique(
        &mut self,
        table: Table,
        key: &str,
        pi_id: &str,
        rename: fn(&str, u32) -> String,
    ) -> String {
        let mut candidate = key.to_string();
        let mut n = 1;
        while self
            .taken
            .get(&(table, candidate.to_ascii_lowercase()))
            .is_some_and(|holder| holder != pi_id)
        {
            n += 1;
            candidate = rename(key, n);
        }
        self.taken
            .insert((table, candidate.to_ascii_lowercase()), pi_id.to_string());
        candidate
    }
}

/// A Pi row mapped: its PrintFarm id and fields, and the unique keys to check against
/// rows the farm had before.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The Pi's id.
    pub pi_id: String,
    /// The PrintFarm id.
    pub id: String,
    /// The columns to write.
    pub fields: Vec<Field>,
    /// Unique keys besides the id: (columns, values).
    pub unique: Vec<(&'static [&'static str], Vec<String>)>,
    /// The printer's access code in plain text (sealed by the caller, with the row's id).
    pub access_code: Option<String>,
}

/// The fields of one row being mapped, with its rewrites recorded in the context.
struct Row<'a> {
    row: &'a PiRow,
    table: Table,
    pi_id: String,
    fields: Vec<Field>,
    cx: &'a mut Context,
}

impl<'a> Row<'a> {
    fn new(row: &'a PiRow, table: Table, cx: &'a mut Context) -> Row<'a> {
        Row {
            row,
            table,
            pi_id: row.id(),
            fields: Vec::new(),
            cx,
        }
    }

    fn v(&self, column: &str) -> &'a PiValue {
        self.row.get(column)
    }

    /// Records `normalised` as `column`, noting the rewrite.
    fn put(&mut self, column: &'static str, kind: Kind, normalised: Normalised) -> Option<String> {
        self.put_as(column, column, kind, normalised, false)
    }

    fn put_as(
        &mut self,
        column: &'static str,
        pi_column: &str,
        kind: Kind,
        (value, rewrite): Normalised,
        insert_only: bool,
    ) -> Option<String> {
        if let Some(r) = rewrite {
            self.cx.changes.push(ChangeLine {
                table: self.table.as_str().to_string(),
                id: self.pi_id.clone(),
                column: pi_column.to_string(),
                from: r.from,
                to: r.to,
                rule: r.rule.to_string(),
            });
        }
        self.fields.push(Field {
            column,
            kind,
            value: value.clone(),
            insert_only,
        });
        value
    }

    fn text(&mut self, column: &'static str) -> Option<String> {
        let v = n::text(self.v(column));
        self.put(column, Kind::Text, v)
    }

    fn required_text(&mut self, column: &'static str, default: &str) -> String {
        let v = n::required_text(self.v(column), default);
        self.put(column, Kind::Text, v).unwrap_or_default()
    }

    fn int(&mut self, column: &'static str) -> Option<i64> {
        let v = n::integer(self.v(column));
        self.put(column, Kind::Int, v).and_then(|t| t.parse().ok())
    }

    fn required_int(&mut self, column: &'static str, default: i64) -> i64 {
        let (value, rewrite) = n::integer(self.v(column));
        let value = value.or_else(|| Some(default.to_string()));
        self.put(column, Kind::Int, (value, rewrite))
            .and_then(|t| t.parse().ok())
            .unwrap_or(default)
    }

    fn real(&mut self, column: &'static str) {
        let v = n::real(self.v(column));
        self.put(column, Kind::Real, v);
    }

    fn flag(&mut self, column: &'static str, default: bool) -> bool {
        let v = n::flag(self.v(column), default);
        self.put(column, Kind::Int, v).as_deref() == Some("1")
    }

    fn time(&mut self, column: &'static str) -> Option<String> {
        let v = n::timestamp(self.v(column));
        self.put(column, Kind::Text, v)
    }

    /// `created_at` (the run's time when the Pi lacks it) and `updated_at` (else `created_at`).
    fn created_updated(&mut self, updated: bool) {
        let now = self.cx.now.clone();
        let created = n::required_timestamp(self.v("created_at"), &now);
        let created = self.put("created_at", Kind::Text, created).unwrap_or(now);
        if updated {
            let v = n::required_timestamp(self.v("updated_at"), &created);
            self.put("updated_at", Kind::Text, v);
        }
    }

    /// A reference to a row of `to`: its PrintFarm id, or NULL (reported) when the Pi's
    /// row is not imported.
    fn reference(&mut self, column: &'static str, to: Table) -> Option<String> {
        if n::text(self.v(column)).0.is_none() {
            self.fields.push(Field {
                column,
                kind: Kind::Text,
                value: None,
                insert_only: false,
            });
            return None;
        }
        self.refer(column, to, false)
    }

    /// A reference the row cannot do without: `None` (the row is skipped, reported).
    fn required_reference(&mut self, column: &'static str, to: Table) -> Option<String> {
        self.refer(column, to, true)
    }

    /// Maps `column`'s reference to `to`; one the import does not hold is reported, and
    /// the field left empty (or, when `required`, the row skipped).
    fn refer(&mut self, column: &'static str, to: Table, required: bool) -> Option<String> {
        let pi_ref = n::text(self.v(column)).0.unwrap_or_default();
        let id = self
            .cx
            .knows(to, &pi_ref)
            .then(|| map_id(&self.cx.tenant, to, &pi_ref));
        if id.is_none() {
            let (table, pi_id) = (self.table, self.pi_id.clone());
            let outcome = if required {
                "row skipped"
            } else {
                "left empty"
            };
            self.cx.problem(
                table,
                &pi_id,
                format!(
                    "{column} names {} '{pi_ref}', which is not imported: {outcome}",
                    to.as_str()
                ),
            );
            if required {
                return None;
            }
        }
        self.fields.push(Field {
            column,
            kind: Kind::Text,
            value: id.clone(),
            insert_only: false,
        });
        id
    }

    /// A user of the Pi's Supabase accounts: not in the Pi file, so left empty (reported).
    fn user(&mut self, column: &'static str) {
        if let Some(user) = n::text(self.v(column)).0 {
            let (table, pi_id) = (self.table, self.pi_id.clone());
            self.cx.changes.push(ChangeLine {
                table: table.as_str().to_string(),
                id: pi_id,
                column: column.to_string(),
                from: user,
                to: None,
                rule: "user of the Pi's accounts, not in the Pi file".to_string(),
            });
        }
    }

    fn status(
        &mut self,
        column: &'static str,
        map: &[(&str, &'static str)],
        fallback: &'static str,
    ) -> String {
        let v = n::status(self.v(column), map, fallback);
        self.put(column, Kind::Text, v)
            .unwrap_or_else(|| fallback.to_string())
    }

    fn done(self, unique: Vec<(&'static [&'static str], Vec<String>)>) -> Planned {
        let table = self.table;
        let id = map_id(&self.cx.tenant, table, &self.pi_id);
        self.cx
            .imported
            .entry(table)
            .or_default()
            .insert(self.pi_id.clone());
        Planned {
            id,
            pi_id: self.pi_id,
            fields: self.fields,
            unique,
            access_code: None,
        }
    }
}

fn numbered_name(name: &str, n: u32) -> String {
    format!("{name} ({n})")
}

fn numbered_code(code: &str, n: u32) -> String {
    format!("{code}-{n}")
}

/// Maps one Pi row of `table`; `None` when it cannot be imported (a problem says why).
pub fn plan(table: Table, row: &PiRow, cx: &mut Context) -> Option<Planned> {
    if row.id().trim().is_empty() {
        cx.problem(table, "", "a row without an id: skipped".to_string());
        return None;
    }
    let mut r = Row::new(row, table, cx);
    match table {
        Table::BuildPlateTypes => {
            let name = r.required_text("name", "Plate");
            let name = unique_name(&mut r, "name", name, numbered_name);
            r.text("description");
            r.flag("is_active", true);
            r.created_updated(true);
            Some(r.done(vec![(&["name"], vec![name])]))
        }
        Table::ColorPresets => {
            let name = r.required_text("color_name", "Colour");
            let hex = n::hex_colour(r.v("hex_code"));
            let hex = match hex {
                (Some(h), rw) => (Some(h), rw),
                (None, _) => (
                    Some("#000000".to_string()),
                    Some(n::Rewrite {
                        from: r.v("hex_code").as_text().unwrap_or_else(|| "NULL".into()),
                        to: Some("#000000".into()),
                        rule: "missing hex colour: black",
                    }),
                ),
            };
            r.put("hex_code", Kind::Text, hex);
            let ((filament, rewrite), _) = n::filament_type(r.v("filament_type"), None);
            let filament = filament.unwrap_or_else(|| "PLA".to_string());
            r.put(
                "filament_type",
                Kind::Text,
                (Some(filament.clone()), rewrite),
            );
            r.flag("is_active", true);
            r.created_updated(false);
            let key = format!("{name}\u{1f}{filament}");
            let taken = r.cx.taken.get(&(table, key.to_ascii_lowercase())).cloned();
            if let Some(holder) = taken.filter(|h| *h != r.pi_id) {
                let (pi_id, cx) = (r.pi_id.clone(), &mut *r.cx);
                cx.problem(
                    table,
                    &pi_id,
                    format!("the same colour and filament as {holder}: skipped"),
                );
                return None;
            }
            r.cx.taken
                .insert((table, key.to_ascii_lowercase()), r.pi_id.clone());
            Some(r.done(vec![(
                &["color_name", "filament_type"],
                vec![name, filament],
            )]))
        }
        Table::Printers => plan_printer(r),
        Table::Products => {
            let name = r.required_text("name", "Product");
            let name = unique_name(&mut r, "name", name, numbered_name);
            r.text("description");
            r.text("category");
            // print_files come after products; their ids are all known up front.
            r.reference("print_file_id", Table::PrintFiles);
            r.text("file_name");
            r.flag("requires_assembly", false);
            r.flag("requires_post_processing", false);
            let ((priority, rewrite), unknown) = n::printer_priority(r.v("printer_priority"));
            r.put("printer_priority", Kind::Text, (priority, rewrite));
            if !unknown.is_empty() {
                let (pi_id, cx) = (r.pi_id.clone(), &mut *r.cx);
                cx.problem(
                    table,
                    &pi_id,
                    format!("printer_priority names models PrintFarm does not know, kept as written: {}", unknown.join(", ")),
                );
            }
            r.text("image_url");
            r.flag("is_active", true);
            if let Some(wiki) = n::text(r.v("wiki_id")).0 {
                r.cx.changes.push(ChangeLine {
                    table: table.as_str().into(),
                    id: r.pi_id.clone(),
                    column: "wiki_id".into(),
                    from: wiki,
                    to: None,
                    rule: "wiki article not in the Pi file".into(),
                });
            }
            r.created_updated(true);
            Some(r.done(vec![(&["name"], vec![name])]))
        }
        Table::PrintFiles => {
            let name = r.required_text("name", "file.3mf");
            let name = unique_name(&mut r, "name", name, numbered_name);
            r.reference("product_id", Table::Products);
            r.int("file_size_bytes");
            r.required_int("number_of_units", 1);
            r.text("local_file_path");
            r.int("print_time_seconds");
            r.real("filament_weight_grams");
            r.real("filament_length_meters");
            let ((filament, rewrite), _) = n::filament_type(r.v("filament_type"), None);
            r.put("filament_type", Kind::Text, (filament, rewrite));
            r.text("printer_model_id");
            r.real("nozzle_diameter");
            r.int("layer_count");
            r.text("curr_bed_type");
            r.text("default_print_profile");
            r.required_int("object_count", 1);
            r.created_updated(true);
            Some(r.done(vec![(&["name"], vec![name])]))
        }
        Table::ProductSkus => {
            r.required_reference("product_id", Table::Products)?;
            let code = r.required_text("sku", "SKU");
            let stored = r.cx.unique(table, &code, &r.pi_id, numbered_code);
            if stored != code {
                let (pi_id, cx) = (r.pi_id.clone(), &mut *r.cx);
                cx.changes.push(ChangeLine {
                    table: table.as_str().into(),
                    id: pi_id,
                    column: "sku".into(),
                    from: code.clone(),
                    to: Some(stored.clone()),
                    rule: "SKU code used by another SKU: numbered".into(),
                });
                if let Some(field) = r.fields.iter_mut().find(|f| f.column == "sku") {
                    field.value = Some(stored.clone());
                }
            }
            r.cx.sku_codes.insert(r.pi_id.clone(), stored.clone());
            r.required_text("color", "");
            let material = n::text(r.v("filament_type")).0;
            let ((filament, rewrite), hex) =
                n::filament_type(r.v("filament_type"), material.as_deref());
            r.put("filament_type", Kind::Text, (filament, rewrite));
            let colour = n::hex_colour(r.v("hex_code"));
            let colour = if colour.0.is_none() && hex.is_some() {
                (hex, None)
            } else {
                colour
            };
            r.put("hex_code", Kind::Text, colour);
            r.required_int("quantity", 1);
            r.required_int("stock_level", 0);
            let price = n::price_cents(r.v("price"));
            r.put("price", Kind::Int, price);
            r.required_int("low_stock_threshold", 0);
            r.flag("is_active", true);
            r.created_updated(true);
            Some(r.done(vec![(&["sku"], vec![stored])]))
        }
        Table::PrintJobs => plan_job(r),
        Table::FinishedGoods => {
            let pi_sku = n::text(r.v("product_sku_id")).0.unwrap_or_default();
            let sku_id = r.required_reference("product_sku_id", Table::ProductSkus)?;
            let key = pi_sku.to_ascii_lowercase();
            if let Some(holder) =
                r.cx.taken
                    .get(&(table, key.clone()))
                    .filter(|h| **h != r.pi_id)
                    .cloned()
            {
                let (pi_id, cx) = (r.pi_id.clone(), &mut *r.cx);
                cx.problem(
                    table,
                    &pi_id,
                    format!("a second stock row of SKU {pi_sku} (the first is {holder}): skipped"),
                );
                return None;
            }
            r.cx.taken.insert((table, key), r.pi_id.clone());
            r.reference("print_job_id", Table::PrintJobs);
            let code = r.cx.sku_codes.get(&pi_sku).cloned();
            let written = n::required_text(r.v("sku"), code.as_deref().unwrap_or("SKU"));
            let sku = match code {
                Some(code) if written.0.as_deref() != Some(code.as_str()) => (
                    Some(code.clone()),
                    Some(n::Rewrite {
                        from: written.0.unwrap_or_default(),
                        to: Some(code),
                        rule: "the SKU code as its SKU has it",
                    }),
                ),
                _ => written,
            };
            r.put("sku", Kind::Text, sku);
            r.required_text("color", "");
            r.required_text("material", "PLA");
            r.required_int("current_stock", 0);
            r.required_int("low_stock_threshold", 0);
            r.required_int("quantity_per_sku", 1);
            let price = n::price_cents(r.v("unit_price"));
            r.put(
                "unit_price",
                Kind::Int,
                (price.0.or(Some("0".into())), price.1),
            );
            let extra = n::price_cents(r.v("extra_cost"));
            r.put(
                "extra_cost",
                Kind::Int,
                (extra.0.or(Some("0".into())), extra.1),
            );
            r.required_int("profit_margin", 0);
            r.flag("requires_assembly", false);
            r.required_int("quantity_assembled", 0);
            let needs = r.required_int("quantity_needs_assembly", 0);
            r.status(
                "status",
                &[
                    ("in_stock", "in_stock"),
                    ("low_stock", "low_stock"),
                    ("out_of_stock", "out_of_stock"),
                    ("needs_assembly", "needs_assembly"),
                    ("active", "active"),
                    ("discontinued", "discontinued"),
                ],
                "in_stock",
            );
            // The Pi has no assembly_status; it follows from the units waiting.
            let assembly = if needs > 0 {
                "needs_assembly"
            } else {
                "assembled"
            };
            let v = match r.v("assembly_status") {
                PiValue::Null => (Some(assembly.to_string()), None),
                other => n::required_text(other, assembly),
            };
            r.put("assembly_status", Kind::Text, v);
            r.text("image_url");
            r.flag("is_active", true);
            r.created_updated(true);
            let _ = sku_id;
            Some(r.done(Vec::new()))
        }
        Table::AssemblyTasks => {
            r.required_reference("finished_good_id", Table::FinishedGoods)?;
            r.user("assigned_to");
            r.required_text("product_name", "");
            r.required_text("sku", "");
            r.required_int("quantity", 1);
            r.status(
                "status",
                &[
                    ("pending", "pending"),
                    ("in_progress", "in_progress"),
                    ("completed", "completed"),
                ],
                "pending",
            );
            r.text("notes");
            r.created_updated(true);
            r.time("completed_at");
            Some(r.done(Vec::new()))
        }
        Table::WorklistTasks => {
            r.reference("assembly_task_id", Table::AssemblyTasks);
            r.reference("printer_id", Table::Printers);
            r.user("assigned_to");
            r.required_text("title", "Task");
            r.text("subtitle");
            r.text("description");
            r.status(
                "task_type",
                &[
                    ("assembly", "assembly"),
                    ("filament_change", "filament_change"),
                    ("collection", "collection"),
                    ("maintenance", "maintenance"),
                    ("quality_check", "quality_check"),
                ],
                "quality_check",
            );
            r.status(
                "priority",
                &[("low", "low"), ("medium", "medium"), ("high", "high")],
                "medium",
            );
            r.status(
                "status",
                &[
                    ("pending", "pending"),
                    ("in_progress", "in_progress"),
                    ("completed", "completed"),
                    ("cancelled", "cancelled"),
                ],
                "pending",
            );
            if let Some(order) = n::text(r.v("order_number")).0 {
                let (table, pi_id) = (r.table, r.pi_id.clone());
                r.cx.changes.push(ChangeLine {
                    table: table.as_str().into(),
                    id: pi_id,
                    column: "order_number".into(),
                    from: order,
                    to: None,
                    rule: "a task's order number has no column in PrintFarm".into(),
                });
            }
            r.int("estimated_time_minutes");
            r.int("actual_time_minutes");
            r.time("started_at");
            r.time("completed_at");
            r.time("due_date");
            r.text("metadata");
            r.created_updated(true);
            Some(r.done(Vec::new()))
        }
    }
}

/// Takes the name `name` for the row, numbered when another row of this import has it.
fn unique_name(
    r: &mut Row<'_>,
    column: &'static str,
    name: String,
    rename: fn(&str, u32) -> String,
) -> String {
    let stored = r.cx.unique(r.table, &name, &r.pi_id, rename);
    if stored != name {
        r.cx.changes.push(ChangeLine {
            table: r.table.as_str().into(),
            id: r.pi_id.clone(),
            column: column.into(),
            from: name,
            to: Some(stored.clone()),
            rule: "name used by another row: numbered".into(),
        });
        if let Some(field) = r.fields.iter_mut().find(|f| f.column == column) {
            field.value = Some(stored.clone());
        }
    }
    stored
}

fn plan_printer(mut r: Row<'_>) -> Option<Planned> {
    let name = r.required_text("name", "Printer");
    let name = unique_name(&mut r, "name", name, numbered_name);
    r.required_text("model", "unknown");
    r.text("manufacturer");
    r.text("firmware_version");
    r.required_int("total_print_time", 0);
    let day = n::date(r.v("last_maintenance_date"));
    r.put("last_maintenance_date", Kind::Text, day);
    // No hub reports the printer yet: offline until one does (maintenance stays).
    let status = n::status(
        r.v("status"),
        &[
            ("offline", "offline"),
            ("idle", "offline"),
            ("printing", "offline"),
            ("maintenance", "maintenance"),
        ],
        "offline",
    );
    r.put_as("status", "status", Kind::Text, status, true);
    for column in ["current_color", "current_build_plate"] {
        let v = n::text(r.v(column));
        r.put_as(column, column, Kind::Text, v, true);
    }
    let hex = n::hex_colour(r.v("current_color_hex"));
    r.put_as(
        "current_color_hex",
        "current_color_hex",
        Kind::Text,
        hex,
        true,
    );
    let (filament, _) = n::filament_type(r.v("current_filament_type"), None);
    r.put_as(
        "current_filament_type",
        "current_filament_type",
        Kind::Text,
        filament,
        true,
    );
    let level = n::integer(r.v("filament_level"));
    r.put_as(
        "filament_level",
        "filament_level",
        Kind::Int,
        (level.0.or(Some("0".into())), level.1),
        true,
    );
    r.real("nozzle_size");
    r.text("location");
    r.status(
        "connection_type",
        &[
            ("bambu", "bambu"),
            ("prusa", "prusa"),
            ("ender", "other"),
            ("other", "other"),
        ],
        "other",
    );
    r.text("ip_address");
    r.text("serial_number");
    let code = n::text(r.v("access_code")).0;
    r.put_as(
        "is_connected",
        "is_connected",
        Kind::Int,
        (Some("0".into()), None),
        true,
    );
    let attempt = n::timestamp(r.v("last_connection_attempt"));
    r.put_as(
        "last_connection_attempt",
        "last_connection_attempt",
        Kind::Text,
        attempt,
        true,
    );
    let error = n::text(r.v("connection_error"));
    r.put_as(
        "connection_error",
        "connection_error",
        Kind::Text,
        error,
        true,
    );
    // The Pi switched a printer off after three failed connections; here its hub keeps
    // trying, so such a printer comes over in service.
    let auto_disabled = n::text(r.v("disabled_reason"))
        .0
        .is_some_and(|why| why.starts_with("Auto-disabled"));
    let active = n::flag(r.v("is_active"), true);
    let active = if auto_disabled && active.0.as_deref() == Some("0") {
        (
            Some("1".to_string()),
            Some(n::Rewrite {
                from: "0".into(),
                to: Some("1".into()),
                rule: "auto-disabled by the Pi for failed connections: in service again",
            }),
        )
    } else {
        active
    };
    r.put("is_active", Kind::Int, active);
    let cleared = n::flag(r.v("cleared"), true);
    r.put_as("cleared", "cleared", Kind::Int, cleared, true);
    r.required_int("sort_order", 0);
    let number = r.int("printer_id");
    r.flag("in_maintenance", false);
    r.text("maintenance_type");
    r.created_updated(true);
    let mut unique = vec![(&["name"][..], vec![name])];
    if let Some(number) = number {
        unique.push((&["printer_id"][..], vec![number.to_string()]));
    }
    let mut planned = r.done(unique);
    planned.access_code = code;
    Some(planned)
}

fn plan_job(mut r: Row<'_>) -> Option<Planned> {
    r.required_reference("print_file_id", Table::PrintFiles)?;
    r.reference("printer_id", Table::Printers);
    r.reference("product_sku_id", Table::ProductSkus);
    r.reference("product_id", Table::Products);
    r.user("submitted_by");
    r.required_text("file_name", "file.3mf");
    let status = r.status(
        "status",
        &[
            ("queued", "queued"),
            // Not yet printing when the Pi stopped: they wait in the queue again.
            ("processing", "queued"),
            ("uploaded", "queued"),
            ("printing", "failed"),
            ("paused", "failed"),
            ("completed", "completed"),
            ("failed", "failed"),
            ("cancelled", "cancelled"),
        ],
        "failed",
    );
    let was = r.v("status").as_text().unwrap_or_default();
    r.required_text("color", "");
    let material = n::text(r.v("material_type")).0;
    let ((filament, rewrite), _) = n::filament_type(r.v("filament_type"), material.as_deref());
    let filament = filament.unwrap_or_else(|| "PLA".to_string());
    r.put(
        "filament_type",
        Kind::Text,
        (Some(filament.clone()), rewrite),
    );
    let material = n::required_text(r.v("material_type"), &filament);
    r.put("material_type", Kind::Text, material);
    r.required_int("number_of_units", 1);
    r.int("filament_needed_grams");
    r.int("estimated_print_time_minutes");
    r.int("actual_print_time_minutes");
    r.required_int("progress_percentage", 0);
    r.text("bambu_job_id");
    r.int("printer_numeric_id");
    r.time("last_sync_time");
    r.required_int("priority", 0);
    let reason = n::text(r.v("failure_reason")).0;
    let reason = match (status.as_str(), was.trim()) {
        ("failed", "printing" | "paused") if reason.is_none() => (
            Some("interrupted: it was printing on the Pi when the farm moved".to_string()),
            None,
        ),
        _ => (reason, None),
    };
    r.put("failure_reason", Kind::Text, reason);
    r.time("time_submitted");
    r.time("time_started");
    r.time("time_completed");
    r.flag("requires_assembly", false);
    r.required_int("quantity_per_print", 1);
    for column in ["product_name", "sku_name", "printer_model", "printer_name"] {
        r.text(column);
    }
    r.created_updated(true);
    Some(r.done(Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn row(values: &[(&str, PiValue)]) -> PiRow {
        PiRow(
            values
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    fn t(s: &str) -> PiValue {
        PiValue::Text(s.into())
    }

    fn value<'p>(planned: &'p Planned, column: &str) -> Option<&'p str> {
        planned
            .fields
            .iter()
            .find(|f| f.column == column)
            .and_then(|f| f.value.as_deref())
    }

    #[test]
    fn ids_map_the_same_way_every_time_and_per_farm() {
        let a = map_id("farm-a", Table::Printers, "p1");
        assert_eq!(a, map_id("farm-a", Table::Printers, "p1"));
        assert_ne!(a, map_id("farm-b", Table::Printers, "p1"));
        assert_ne!(a, map_id("farm-a", Table::Products, "p1"));
    }

    #[test]
    fn a_duplicate_sku_code_is_numbered_and_its_stock_follows() {
        let mut cx = Context::new("farm", "2026-01-01T00:00:00.000Z");
        cx.imported
            .entry(Table::Products)
            .or_default()
            .insert("prod".into());
        let sku = |id: &str| {
            row(&[
                ("id", t(id)),
                ("product_id", t("prod")),
                ("sku", t("asdf")),
                ("price", t("$4.80")),
            ])
        };
        let first = plan(Table::ProductSkus, &sku("s1"), &mut cx).expect("first");
        let second = plan(Table::ProductSkus, &sku("s2"), &mut cx).expect("second");
        assert_eq!(value(&first, "sku"), Some("asdf"));
        assert_eq!(value(&second, "sku"), Some("asdf-2"));
        assert_eq!(value(&first, "price"), Some("480"));
        // The same row again (a re-run's view) keeps its code.
        assert_eq!(
            value(
                &plan(Table::ProductSkus, &sku("s2"), &mut cx).expect("again"),
                "sku"
            ),
            Some("asdf-2")
        );
        let good = plan(
            Table::FinishedGoods,
            &row(&[
                ("id", t("g2")),
                ("product_sku_id", t("s2")),
                ("sku", t("asdf")),
            ]),
            &mut cx,
        )
        .expect("good");
        assert_eq!(value(&good, "sku"), Some("asdf-2"));
        assert_eq!(value(&good, "assembly_status"), Some("assembled"));
        let orphan = plan(
            Table::ProductSkus,
            &row(&[("id", t("s3")), ("product_id", t("gone")), ("sku", t("x"))]),
            &mut cx,
        );
        assert!(orphan.is_none());
        assert!(
            cx.problems
                .iter()
                .any(|p| p.id == "s3" && p.message.contains("skipped"))
        );
    }

    #[test]
    fn a_printer_comes_over_offline_with_its_code_apart() {
        let mut cx = Context::new("farm", "2026-01-01T00:00:00.000Z");
        let planned = plan(
            Table::Printers,
            &row(&[
                ("id", t("p")),
                ("name", t("Nates A1")),
                ("model", t("A1")),
                ("status", t("idle")),
                ("connection_type", t("ender")),
                ("access_code", t("12345678")),
                ("is_active", PiValue::Int(0)),
                (
                    "disabled_reason",
                    t("Auto-disabled: Connection failed after 3 consecutive attempts"),
                ),
                ("created_at", t("2025-09-26 01:50:10.050724")),
            ]),
            &mut cx,
        )
        .expect("printer");
        assert_eq!(value(&planned, "status"), Some("offline"));
        assert_eq!(value(&planned, "connection_type"), Some("other"));
        assert_eq!(value(&planned, "is_active"), Some("1"));
        assert_eq!(
            value(&planned, "access_code"),
            None,
            "the plain code is never a field"
        );
        assert_eq!(planned.access_code.as_deref(), Some("12345678"));
        assert_eq!(
            value(&planned, "created_at"),
            Some("2025-09-26T01:50:10.050Z")
        );
        assert_eq!(
            value(&planned, "updated_at"),
            Some("2025-09-26T01:50:10.050Z")
        );
    }

    #[test]
    fn a_job_printing_on_the_pi_comes_over_failed_with_a_reason() {
        let mut cx = Context::new("farm", "2026-01-01T00:00:00.000Z");
        cx.imported
            .entry(Table::PrintFiles)
            .or_default()
            .insert("f".into());
        let planned = plan(
            Table::PrintJobs,
            &row(&[
                ("id", t("j")),
                ("print_file_id", t("f")),
                ("status", t("printing")),
                ("filament_type", t("#1b4c0e")),
                ("material_type", t("PETG")),
            ]),
            &mut cx,
        )
        .expect("job");
        assert_eq!(value(&planned, "status"), Some("failed"));
        assert!(
            value(&planned, "failure_reason").is_some_and(|r| r.contains("printing on the Pi"))
        );
        assert_eq!(value(&planned, "filament_type"), Some("PETG"));
        assert!(
            cx.changes
                .iter()
                .any(|c| c.rule == "hex colour in filament_type")
        );
    }
}
