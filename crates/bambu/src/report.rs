//! The `print` report and the full state kept from it.
//!
//! P1 and A1 printers push only what changed since their last push, and even
//! X1 pushes are not guaranteed complete, so a client keeps the last full
//! `print` object ([`PrinterState`]) and deep-merges every push into it
//! (protocol reference §1.3). Typed values are read from that state through
//! lenient accessors: firmware sends numbers as strings and the other way round.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::command::Response;

/// `stg_cur` on an idle X1.
pub const STAGE_IDLE_X1: i64 = -1;
/// `stg_cur` on an idle P1/A1.
pub const STAGE_IDLE_P1: i64 = 255;
/// `fun` bit that ha-bambulab reads as "MQTT commands must be signed".
pub const FUN_SIGNATURE_REQUIRED: u64 = 0x2000_0000;

/// The printer's job state (`gcode_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GcodeState {
    /// No job.
    Idle,
    /// Downloading or preparing the file.
    Prepare,
    /// Printing (also heating and levelling before the first layer).
    Running,
    /// Paused by the user or by the printer (filament runout ...).
    Pause,
    /// The last job finished.
    Finish,
    /// The last job failed or was cancelled.
    Failed,
    /// Cloud slicing.
    Slicing,
    /// Starting up.
    Init,
    /// Offline.
    Offline,
    /// A state this crate does not know.
    Unknown,
}

impl GcodeState {
    /// Parses the wire string; unknown strings become [`GcodeState::Unknown`].
    pub fn parse(text: &str) -> GcodeState {
        match text.trim().to_ascii_uppercase().as_str() {
            "IDLE" => GcodeState::Idle,
            "PREPARE" => GcodeState::Prepare,
            "RUNNING" => GcodeState::Running,
            "PAUSE" => GcodeState::Pause,
            "FINISH" => GcodeState::Finish,
            "FAILED" => GcodeState::Failed,
            "SLICING" => GcodeState::Slicing,
            "INIT" => GcodeState::Init,
            "OFFLINE" => GcodeState::Offline,
            _ => GcodeState::Unknown,
        }
    }

    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            GcodeState::Idle => "IDLE",
            GcodeState::Prepare => "PREPARE",
            GcodeState::Running => "RUNNING",
            GcodeState::Pause => "PAUSE",
            GcodeState::Finish => "FINISH",
            GcodeState::Failed => "FAILED",
            GcodeState::Slicing => "SLICING",
            GcodeState::Init => "INIT",
            GcodeState::Offline => "OFFLINE",
            GcodeState::Unknown => "UNKNOWN",
        }
    }

    /// Whether a job occupies the printer (a new one cannot start).
    pub fn is_busy(self) -> bool {
        matches!(
            self,
            GcodeState::Prepare | GcodeState::Running | GcodeState::Pause | GcodeState::Slicing
        )
    }
}

impl fmt::Display for GcodeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One active health message (`hms[]` entry): two 32-bit integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Hms {
    /// Module and part (`attr`).
    pub attr: u32,
    /// Severity and error (`code`).
    pub code: u32,
}

/// How bad an HMS message is (`code >> 16`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HmsSeverity {
    /// 1: the print cannot continue.
    Fatal,
    /// 2: serious.
    Serious,
    /// 3: common.
    Common,
    /// 4: information.
    Info,
    /// Anything else.
    Unknown,
}

impl Hms {
    /// "MQTT command verification failed": raised when a command is refused
    /// because it is not signed (LAN-only + Developer Mode off).
    pub const COMMAND_VERIFICATION_FAILED: Hms = Hms {
        attr: 0x0500_0500,
        code: 0x0001_0007,
    };
    /// "Heatbed temperature abnormal; the sensor may be open circuit" (fatal).
    pub const HEATBED_TEMPERATURE_ABNORMAL: Hms = Hms {
        attr: 0x0300_0100,
        code: 0x0001_0007,
    };

    /// The 16-hex-digit key of Bambu's tables, `0300_0100_0001_0007`.
    pub fn key(self) -> String {
        format!(
            "{:04X}_{:04X}_{:04X}_{:04X}",
            self.attr >> 16,
            self.attr & 0xFFFF,
            self.code >> 16,
            self.code & 0xFFFF
        )
    }

    /// Parses `HMS_0300_0100_0001_0007` or `0300_0100_0001_0007` (underscores optional).
    pub fn parse(text: &str) -> Option<Hms> {
        let text = text.trim();
        let text = text
            .strip_prefix("HMS_")
            .or_else(|| text.strip_prefix("hms_"))
            .unwrap_or(text);
        let digits: String = text.chars().filter(|c| *c != '_').collect();
        if digits.len() != 16 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let attr = u32::from_str_radix(&digits[..8], 16).ok()?;
        let code = u32::from_str_radix(&digits[8..], 16).ok()?;
        Some(Hms { attr, code })
    }

    /// The module that raised it (`attr >> 24`): 0x03 motion controller,
    /// 0x05 mainboard, 0x07 AMS, 0x08 toolhead, 0x0C camera.
    pub fn module(self) -> u8 {
        (self.attr >> 24) as u8
    }

    /// How bad it is.
    pub fn severity(self) -> HmsSeverity {
        match self.code >> 16 {
            1 => HmsSeverity::Fatal,
            2 => HmsSeverity::Serious,
            3 => HmsSeverity::Common,
            4 => HmsSeverity::Info,
            _ => HmsSeverity::Unknown,
        }
    }

    /// The JSON the printer sends for it.
    pub fn to_json(self) -> Value {
        serde_json::json!({ "attr": self.attr, "code": self.code })
    }

    fn from_json(value: &Value) -> Option<Hms> {
        let attr = u32::try_from(int(value.get("attr")?)?).ok()?;
        let code = u32::try_from(int(value.get("code")?)?).ok()?;
        Some(Hms { attr, code })
    }
}

impl fmt::Display for Hms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HMS_{}", self.key())
    }
}

/// A non-zero `print_error`, shown as 8 hex digits split 4/4 (`0300_400C`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PrintError(pub u32);

impl PrintError {
    /// The job was cancelled by the user (reported for a few seconds after `stop`).
    pub const CANCELLED: PrintError = PrintError(0x0300_400C);
    /// Filament ran out.
    pub const FILAMENT_RUNOUT: PrintError = PrintError(0x0300_8015);
    /// The printer could not parse the file (wrong plate path, missing file).
    pub const FILE_UNPARSABLE: PrintError = PrintError(0x0500_4003);

    /// The 8-hex-digit key of Bambu's `device_error` table, `0300400C`.
    pub fn key(self) -> String {
        format!("{:08X}", self.0)
    }

    /// Whether this is the user-cancel code rather than a real failure.
    pub fn is_cancel(self) -> bool {
        self == PrintError::CANCELLED
    }
}

impl fmt::Display for PrintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}_{:04X}", self.0 >> 16, self.0 & 0xFFFF)
    }
}

/// One filament slot of an AMS unit, or the external spool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tray {
    /// Slot id within the unit ("0".."3"), or "254" for the external spool.
    pub id: String,
    /// Whether a spool is known to be in the slot (a bare `{"id"}` means empty).
    pub loaded: bool,
    /// Material ("PLA", "PETG" ...).
    pub material: Option<String>,
    /// Colour as `RRGGBBAA` hex.
    pub colour: Option<String>,
    /// Filament preset id (`GFA00` = Bambu PLA Basic).
    pub preset: Option<String>,
    /// Brand line ("PLA Basic").
    pub sub_brand: Option<String>,
    /// Percent left; `None` when the printer does not know (`-1`).
    pub remain_percent: Option<u8>,
}

impl Tray {
    fn from_json(value: &Value) -> Option<Tray> {
        let id = text(value.get("id")?)?;
        let material = value
            .get("tray_type")
            .and_then(text)
            .filter(|s| !s.is_empty());
        let colour = value
            .get("tray_color")
            .and_then(text)
            .filter(|s| !s.is_empty());
        Some(Tray {
            id,
            loaded: material.is_some(),
            material,
            colour,
            preset: value
                .get("tray_info_idx")
                .and_then(text)
                .filter(|s| !s.is_empty()),
            sub_brand: value
                .get("tray_sub_brands")
                .and_then(text)
                .filter(|s| !s.is_empty()),
            remain_percent: value
                .get("remain")
                .and_then(int)
                .and_then(|r| u8::try_from(r).ok())
                .filter(|r| *r <= 100),
        })
    }
}

/// One AMS unit (AMS, AMS Lite, AMS 2 Pro ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmsUnit {
    /// Unit index ("0".."3").
    pub id: String,
    /// Humidity index "1".."5" (5 = driest on older firmware; read as given).
    pub humidity_index: Option<String>,
    /// Temperature, °C.
    pub temperature: Option<f64>,
    /// The four slots.
    pub trays: Vec<Tray>,
}

/// A light and its mode (`lights_report[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Light {
    /// `chamber_light` or `work_light` (X1 only).
    pub node: String,
    /// `on`, `off` or `flashing`.
    pub mode: String,
}

/// A typed snapshot of the fields a farm needs (protocol reference §2.1).
/// Every field is optional: it is `None` until the printer has sent it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `gcode_state`.
    pub gcode_state: Option<GcodeState>,
    /// `mc_percent`, 0–100.
    pub percent: Option<u8>,
    /// `mc_remaining_time`, minutes.
    pub remaining_minutes: Option<u32>,
    /// `layer_num`.
    pub layer: Option<u32>,
    /// `total_layer_num`.
    pub total_layers: Option<u32>,
    /// `gcode_file_prepare_percent`, 0–100.
    pub prepare_percent: Option<u8>,
    /// `gcode_start_time`, epoch seconds.
    pub start_time: Option<i64>,
    /// `subtask_name`: the job name.
    pub subtask_name: Option<String>,
    /// `gcode_file`.
    pub gcode_file: Option<String>,
    /// `print_type` (`local`, `cloud`, `idle` ...).
    pub print_type: Option<String>,
    /// `stg_cur`: detailed stage (-1 or 255 idle, 0 printing, 1 levelling, 2 preheat, 16 user pause ...).
    pub stage: Option<i64>,
    /// `print_error`, `None` when 0. May be stale after a job ended.
    pub print_error: Option<PrintError>,
    /// `hms`: active health messages.
    pub hms: Vec<Hms>,
    /// `nozzle_temper`, °C.
    pub nozzle_temp: Option<f64>,
    /// `nozzle_target_temper`, °C.
    pub nozzle_target: Option<f64>,
    /// `bed_temper`, °C.
    pub bed_temp: Option<f64>,
    /// `bed_target_temper`, °C.
    pub bed_target: Option<f64>,
    /// `chamber_temper`, °C (a constant placeholder on P1/A1).
    pub chamber_temp: Option<f64>,
    /// `spd_lvl`: 1 silent, 2 standard, 3 sport, 4 ludicrous.
    pub speed_level: Option<u8>,
    /// `wifi_signal` in dBm.
    pub wifi_signal_dbm: Option<i32>,
    /// `lights_report`.
    pub lights: Vec<Light>,
    /// `nozzle_diameter` as sent ("0.4").
    pub nozzle_diameter: Option<String>,
    /// `nozzle_type` (`stainless_steel`, `hardened_steel`).
    pub nozzle_type: Option<String>,
    /// `sdcard`: whether a card is present.
    pub sdcard: Option<bool>,
    /// `ams.ams`: AMS units.
    pub ams: Vec<AmsUnit>,
    /// `ams.tray_now`: global slot loaded (`ams*4+slot`, 254 external, 255 none).
    pub tray_now: Option<u32>,
    /// `vt_tray`: the external spool.
    pub external_spool: Option<Tray>,
    /// Whether `fun` says commands must be signed (Developer Mode off).
    pub signature_required: Option<bool>,
}

/// The full `print` object of one printer, kept by merging every push.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PrinterState {
    print: Map<String, Value>,
}

impl PrinterState {
    /// An empty state (nothing received yet).
    pub fn new() -> PrinterState {
        PrinterState::default()
    }

    /// Deep-merges one `print` object (full or delta) into the state.
    ///
    /// Objects merge key by key; scalars and plain arrays (`hms`,
    /// `lights_report`, `stg`, `s_obj`) are replaced, because the printer always
    /// sends such an array whole. AMS units (`ams.ams[]`) and their trays are
    /// matched by `id` and merged, and a tray sent as a bare `{"id"}` (maybe with
    /// `state`) is now empty, so its filament fields are dropped. A key that is
    /// absent stays unchanged. Non-object input is ignored.
    pub fn merge(&mut self, delta: &Value) {
        if let Value::Object(delta) = delta {
            merge_object(&mut self.print, delta, Level::Print);
        }
    }

    /// Parses one message from the report topic and merges it if it is a status
    /// push (`{"print":{"command":"push_status",...}}`). Returns what it was.
    pub fn apply_message(&mut self, payload: &[u8]) -> Result<Incoming, ReportError> {
        let incoming = Incoming::parse(payload)?;
        if let Incoming::Status(print) = &incoming {
            self.merge(print);
        }
        Ok(incoming)
    }

    /// The merged `print` object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.print
    }

    /// The merged `print` object as a JSON value.
    pub fn to_value(&self) -> Value {
        Value::Object(self.print.clone())
    }

    /// One raw field.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.print.get(key)
    }

    /// `gcode_state`.
    pub fn gcode_state(&self) -> Option<GcodeState> {
        self.get("gcode_state")
            .and_then(Value::as_str)
            .map(GcodeState::parse)
    }

    /// `mc_percent`, clamped to 0–100.
    pub fn percent(&self) -> Option<u8> {
        self.get("mc_percent")
            .and_then(int)
            .map(|p| p.clamp(0, 100) as u8)
    }

    /// `mc_remaining_time` in minutes.
    pub fn remaining_minutes(&self) -> Option<u32> {
        self.get("mc_remaining_time")
            .and_then(int)
            .and_then(|m| u32::try_from(m).ok())
    }

    /// `layer_num`.
    pub fn layer(&self) -> Option<u32> {
        self.get("layer_num")
            .and_then(int)
            .and_then(|m| u32::try_from(m).ok())
    }

    /// `total_layer_num`.
    pub fn total_layers(&self) -> Option<u32> {
        self.get("total_layer_num")
            .and_then(int)
            .and_then(|m| u32::try_from(m).ok())
    }

    /// `print_error`, `None` when 0.
    pub fn print_error(&self) -> Option<PrintError> {
        self.get("print_error")
            .and_then(int)
            .and_then(|e| u32::try_from(e).ok())
            .filter(|e| *e != 0)
            .map(PrintError)
    }

    /// `hms`: active health messages (entries that do not parse are skipped).
    pub fn hms(&self) -> Vec<Hms> {
        self.get("hms")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Hms::from_json).collect())
            .unwrap_or_default()
    }

    /// The typed snapshot of everything in [`Report`].
    pub fn report(&self) -> Report {
        let print = &self.print;
        let f = |key: &str| print.get(key).and_then(float);
        let s = |key: &str| print.get(key).and_then(text);
        let ams = print.get("ams");
        Report {
            gcode_state: self.gcode_state(),
            percent: self.percent(),
            remaining_minutes: self.remaining_minutes(),
            layer: self.layer(),
            total_layers: self.total_layers(),
            prepare_percent: print
                .get("gcode_file_prepare_percent")
                .and_then(int)
                .map(|p| p.clamp(0, 100) as u8),
            start_time: print.get("gcode_start_time").and_then(int),
            subtask_name: s("subtask_name"),
            gcode_file: s("gcode_file"),
            print_type: s("print_type"),
            stage: print.get("stg_cur").and_then(int),
            print_error: self.print_error(),
            hms: self.hms(),
            nozzle_temp: f("nozzle_temper"),
            nozzle_target: f("nozzle_target_temper"),
            bed_temp: f("bed_temper"),
            bed_target: f("bed_target_temper"),
            chamber_temp: f("chamber_temper"),
            speed_level: print
                .get("spd_lvl")
                .and_then(int)
                .and_then(|l| u8::try_from(l).ok()),
            wifi_signal_dbm: print.get("wifi_signal").and_then(dbm),
            lights: print
                .get("lights_report")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(|l| {
                            Some(Light {
                                node: text(l.get("node")?)?,
                                mode: text(l.get("mode")?)?,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default(),
            nozzle_diameter: s("nozzle_diameter"),
            nozzle_type: s("nozzle_type"),
            sdcard: print.get("sdcard").and_then(Value::as_bool),
            ams: ams
                .and_then(|a| a.get("ams"))
                .and_then(Value::as_array)
                .map(|units| units.iter().filter_map(ams_unit).collect())
                .unwrap_or_default(),
            tray_now: ams
                .and_then(|a| a.get("tray_now"))
                .and_then(int)
                .and_then(|t| u32::try_from(t).ok()),
            external_spool: print.get("vt_tray").and_then(Tray::from_json),
            signature_required: print
                .get("fun")
                .and_then(Value::as_str)
                .and_then(|f| u64::from_str_radix(f.trim(), 16).ok())
                .map(|f| f & FUN_SIGNATURE_REQUIRED != 0),
        }
    }
}

fn ams_unit(value: &Value) -> Option<AmsUnit> {
    Some(AmsUnit {
        id: text(value.get("id")?)?,
        humidity_index: value.get("humidity").and_then(text),
        temperature: value.get("temp").and_then(float),
        trays: value
            .get("tray")
            .and_then(Value::as_array)
            .map(|trays| trays.iter().filter_map(Tray::from_json).collect())
            .unwrap_or_default(),
    })
}

/// Where in the `print` object a merge is, for the AMS id-matching rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Print,
    /// `print.ams`.
    AmsRoot,
    /// One element of `print.ams.ams[]`.
    AmsUnit,
    Other,
}

fn merge_object(dst: &mut Map<String, Value>, src: &Map<String, Value>, level: Level) {
    for (key, new) in src {
        let child = match (level, key.as_str()) {
            (Level::Print, "ams") => Level::AmsRoot,
            _ => Level::Other,
        };
        // AMS units and their trays are matched by id, even into an empty list.
        let by_id = match (level, key.as_str()) {
            (Level::AmsRoot, "ams") => Some((Level::AmsUnit, false)),
            (Level::AmsUnit, "tray") => Some((Level::Other, true)),
            _ => None,
        };
        match (dst.get_mut(key), new, by_id) {
            (Some(Value::Object(old)), Value::Object(new), _) => merge_object(old, new, child),
            (Some(Value::Array(old)), Value::Array(new), Some((level, trays))) => {
                merge_by_id(old, new, level, trays);
            }
            // Something new goes through the same rules as a change, so the state holds
            // what merging it again would leave (one AMS unit or tray per id).
            (_, Value::Object(new), _) => {
                let mut fresh = Map::new();
                merge_object(&mut fresh, new, child);
                dst.insert(key.clone(), Value::Object(fresh));
            }
            (_, Value::Array(new), Some((level, trays))) => {
                let mut fresh = Vec::new();
                merge_by_id(&mut fresh, new, level, trays);
                dst.insert(key.clone(), Value::Array(fresh));
            }
            _ => {
                dst.insert(key.clone(), new.clone());
            }
        }
    }
}

/// Merges `new` into `old` matching elements by `id`; new ids are appended and
/// ids not sent stay as they were. A list with an element lacking an id (or with one
/// that is not text or a number) cannot be matched and replaces the old one. Either way the list keeps one element
/// per id: a second element with an id already there is merged into the first, so a
/// push that repeats an id, merged twice, changes nothing the second time.
fn merge_by_id(old: &mut Vec<Value>, new: &[Value], level: Level, trays: bool) {
    if new
        .iter()
        .any(|element| element.get("id").and_then(text).is_none())
    {
        old.clear();
    }
    for element in new {
        let id = element.get("id").and_then(text);
        let existing = match &id {
            Some(_) => old
                .iter_mut()
                .find(|candidate| candidate.get("id").and_then(text) == id),
            None => None,
        };
        match (existing, element) {
            // An emptied slot is reported as `{"id":"2"}` (maybe with `state`):
            // drop the old spool's fields instead of keeping them.
            (Some(slot), Value::Object(fields)) if trays && is_bare_tray(fields) => {
                *slot = element.clone();
            }
            (Some(Value::Object(slot)), Value::Object(fields)) => {
                merge_object(slot, fields, level);
            }
            (Some(slot), _) => *slot = element.clone(),
            // A new unit's trays go through the id rules too.
            (None, Value::Object(fields)) => {
                let mut fresh = Map::new();
                merge_object(&mut fresh, fields, level);
                old.push(Value::Object(fresh));
            }
            (None, _) => old.push(element.clone()),
        }
    }
}

fn is_bare_tray(fields: &Map<String, Value>) -> bool {
    fields.keys().all(|key| key == "id" || key == "state")
}

/// A message from the report topic, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A status push: the `print` object to merge.
    Status(Value),
    /// The answer to a request (`result`, echoed `sequence_id`).
    Response(Response),
    /// Anything else (`mc_print` log lines, `info` pushes without a result ...).
    Other {
        /// The top-level key.
        class: String,
        /// Its `command`, if any.
        command: Option<String>,
    },
}

impl Incoming {
    /// Classifies one payload from `device/{serial}/report`.
    pub fn parse(payload: &[u8]) -> Result<Incoming, ReportError> {
        let value: Value = serde_json::from_slice(payload).map_err(ReportError::Json)?;
        let Value::Object(top) = value else {
            return Err(ReportError::NotAnObject);
        };
        // One class key per message in practice; take the first object-valued one.
        let Some((class, body)) = top.into_iter().find(|(_, v)| v.is_object()) else {
            return Err(ReportError::NotAnObject);
        };
        let command = body.get("command").and_then(text);
        if class == "print" && command.as_deref() == Some("push_status") {
            return Ok(Incoming::Status(body));
        }
        if let Value::Object(fields) = &body
            && let Some(response) = Response::from_body(&class, fields)
        {
            return Ok(Incoming::Response(response));
        }
        Ok(Incoming::Other { class, command })
    }
}

/// A report payload that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Not JSON.
    #[error("report is not JSON: {0}")]
    Json(serde_json::Error),
    /// JSON, but not an object with a class key.
    #[error("report is not a JSON object with a class key")]
    NotAnObject,
}

/// A number, or a string holding one.
pub(crate) fn float(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An integer, or a string or float holding one (floats are rounded).
pub(crate) fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().and_then(|u| i64::try_from(u).ok()))
            .or_else(|| n.as_f64().map(|f| f.round() as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse()
                .ok()
                .or_else(|| s.parse::<f64>().ok().map(|f| f.round() as i64))
        }
        _ => None,
    }
}

/// A string, or a number written as one (ids are sent both ways).
pub(crate) fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `"-53dBm"` (or a bare number) as dBm.
fn dbm(value: &Value) -> Option<i32> {
    match value {
        Value::String(s) => {
            let s = s.trim();
            let end = s
                .char_indices()
                .find(|(i, c)| !(c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+'))))
                .map(|(i, _)| i)
                .unwrap_or(s.len());
            s[..end].parse().ok()
        }
        other => int(other).and_then(|v| i32::try_from(v).ok()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The full P1S dump of protocol reference §2.4.
    fn full_dump() -> Value {
        serde_json::from_str(
            r#"{"print": {
          "command": "push_status", "msg": 0, "sequence_id": "2307",
          "gcode_state": "RUNNING", "print_type": "local",
          "subtask_name": "bracket_v3", "gcode_file": "bracket_v3.gcode.3mf",
          "project_id": "0", "profile_id": "0", "task_id": "0", "subtask_id": "0",
          "gcode_start_time": "1732521600", "gcode_file_prepare_percent": "100",
          "mc_percent": 37, "mc_remaining_time": 52, "mc_print_stage": "2", "stg_cur": 0,
          "layer_num": 41, "total_layer_num": 118, "nozzle_temper": 219.8, "nozzle_target_temper": 220.0,
          "bed_temper": 55.0, "bed_target_temper": 55.0, "chamber_temper": 5,
          "spd_lvl": 2, "spd_mag": 100, "wifi_signal": "-51dBm",
          "cooling_fan_speed": "15", "big_fan1_speed": "0", "big_fan2_speed": "10", "heatbreak_fan_speed": "15",
          "nozzle_diameter": "0.4", "nozzle_type": "hardened_steel", "sdcard": true,
          "print_error": 0, "hms": [{"attr": 50331904, "code": 65543}],
          "lights_report": [{"node": "chamber_light", "mode": "on"}],
          "ipcam": {"ipcam_dev": "1", "ipcam_record": "enable", "timelapse": "disable", "resolution": ""},
          "ams": {
            "ams": [{"id": "0", "humidity": "4", "temp": "24.1", "tray": [
              {"id": "0", "tray_type": "PLA", "tray_color": "000000FF", "cols": ["000000FF"],
               "tray_info_idx": "GFA00", "tray_sub_brands": "PLA Basic", "remain": 63,
               "nozzle_temp_min": "190", "nozzle_temp_max": "230",
               "tag_uid": "0000000000000000", "tray_uuid": "00000000000000000000000000000000"},
              {"id": "1", "tray_type": "PETG", "tray_color": "F95959FF", "tray_info_idx": "GFG99", "remain": -1},
              {"id": "2"}, {"id": "3", "tray_type": "PLA", "tray_color": "FFFFFFFF", "tray_info_idx": "GFL99", "remain": -1}]}],
            "ams_exist_bits": "1", "tray_exist_bits": "b", "tray_now": "0", "tray_pre": "0", "tray_tar": "0"},
          "vt_tray": {"id": "254", "tray_type": "", "tray_color": "00000000"}
        }}"#,
        )
        .expect("reference dump is JSON")
    }

    fn state_after(messages: &[Value]) -> PrinterState {
        let mut state = PrinterState::new();
        for message in messages {
            let bytes = serde_json::to_vec(message).expect("serialises");
            state.apply_message(&bytes).expect("parses");
        }
        state
    }

    #[test]
    fn a_push_that_repeats_a_tray_id_merged_twice_changes_nothing_the_second_time() {
        // Found by fuzz/report_merge: two trays with id 2 in one unit, after a list without
        // ids had replaced the trays.
        let push = json!({ "command": "push_status", "ams": { "ams": [{ "id": "0", "tray": [
            { "id": "0", "tray_type": "PLA" },
            { "id": "2", "tray_type": "PETG", "tray_color": "BCBCBCFF" },
            { "id": "2" },
            { "tray_type": "no id" },
        ] }] } });
        let mut once = PrinterState::new();
        once.merge(&push);
        let mut twice = once.clone();
        twice.merge(&push);
        assert_eq!(twice, once);
        let trays = once.as_map()["ams"]["ams"][0]["tray"]
            .as_array()
            .unwrap()
            .clone();
        let twos = trays.iter().filter(|t| t["id"] == "2").count();
        assert_eq!(twos, 1, "one tray per id: {trays:?}");
        // With ids only, a repeated id is merged into the first: the bare one empties it.
        let mut state = PrinterState::new();
        let ids_only = json!({ "ams": { "ams": [{ "id": "0", "tray": [
            { "id": "2", "tray_type": "PETG" }, { "id": "2" }] }] } });
        state.merge(&ids_only);
        let again = state.clone();
        state.merge(&ids_only);
        assert_eq!(state, again);
        assert_eq!(
            state.as_map()["ams"]["ams"][0]["tray"],
            json!([{ "id": "2" }])
        );
    }

    #[test]
    fn a_full_dump_reads_as_typed_fields() {
        let report = state_after(&[full_dump()]).report();
        assert_eq!(report.gcode_state, Some(GcodeState::Running));
        assert_eq!(report.percent, Some(37));
        assert_eq!(report.remaining_minutes, Some(52));
        assert_eq!((report.layer, report.total_layers), (Some(41), Some(118)));
        assert_eq!(report.prepare_percent, Some(100));
        assert_eq!(report.start_time, Some(1_732_521_600));
        assert_eq!(report.subtask_name.as_deref(), Some("bracket_v3"));
        assert_eq!(report.nozzle_temp, Some(219.8));
        assert_eq!(report.bed_target, Some(55.0));
        assert_eq!(report.chamber_temp, Some(5.0));
        assert_eq!(report.wifi_signal_dbm, Some(-51));
        assert_eq!(report.print_error, None);
        assert_eq!(report.hms.len(), 1);
        assert_eq!(report.hms[0].to_string(), "HMS_0300_0100_0001_0007");
        assert_eq!(report.lights[0].mode, "on");
        assert_eq!(report.tray_now, Some(0));
        let trays = &report.ams[0].trays;
        assert_eq!(trays.len(), 4);
        assert_eq!(trays[0].colour.as_deref(), Some("000000FF"));
        assert_eq!(trays[0].remain_percent, Some(63));
        assert_eq!(trays[1].material.as_deref(), Some("PETG"));
        assert_eq!(trays[1].remain_percent, None);
        assert!(!trays[2].loaded);
        assert_eq!(report.external_spool.map(|t| t.loaded), Some(false));
    }

    #[test]
    fn a_delta_changes_only_the_fields_it_carries() {
        let delta = json!({"print":{"mc_percent":38,"mc_remaining_time":51,"layer_num":42,
            "command":"push_status","msg":1,"sequence_id":"2311"}});
        let state = state_after(&[full_dump(), delta]);
        let report = state.report();
        assert_eq!(report.percent, Some(38));
        assert_eq!(report.remaining_minutes, Some(51));
        assert_eq!(report.layer, Some(42));
        // Absent means unchanged, never cleared.
        assert_eq!(report.total_layers, Some(118));
        assert_eq!(report.nozzle_temp, Some(219.8));
        assert_eq!(report.ams[0].trays[0].material.as_deref(), Some("PLA"));
        assert_eq!(state.get("sequence_id"), Some(&json!("2311")));
    }

    #[test]
    fn a_wifi_and_temperature_delta_from_a_p1_merges() {
        let delta = json!({"print":{"bed_temper":12,"wifi_signal":"-68dBm","command":"push_status","msg":1,"sequence_id":"40942"}});
        let report = state_after(&[full_dump(), delta]).report();
        assert_eq!(report.bed_temp, Some(12.0));
        assert_eq!(report.wifi_signal_dbm, Some(-68));
        assert_eq!(report.gcode_state, Some(GcodeState::Running));
    }

    #[test]
    fn nested_objects_merge_key_by_key() {
        let delta = json!({"print":{"command":"push_status","ipcam":{"timelapse":"enable"}}});
        let state = state_after(&[full_dump(), delta]);
        let ipcam = state.get("ipcam").expect("ipcam kept");
        assert_eq!(ipcam["timelapse"], "enable");
        assert_eq!(ipcam["ipcam_record"], "enable");
    }

    #[test]
    fn plain_arrays_are_replaced_whole() {
        let cleared = json!({"print":{"command":"push_status","hms":[],"lights_report":[{"node":"chamber_light","mode":"off"}]}});
        let report = state_after(&[full_dump(), cleared]).report();
        assert!(
            report.hms.is_empty(),
            "an empty hms list means no active messages"
        );
        assert_eq!(report.lights.len(), 1);
        assert_eq!(report.lights[0].mode, "off");
    }

    #[test]
    fn ams_trays_merge_by_id_and_a_bare_tray_is_empty() {
        let delta = json!({"print":{"command":"push_status","ams":{"ams":[{"id":"0","tray":[
            {"id":"0","remain":60},
            {"id":"1"},
            {"id":"2","tray_type":"ABS","tray_color":"FF0000FF"}]}],
            "tray_exist_bits":"d","tray_now":"2"}}});
        let report = state_after(&[full_dump(), delta]).report();
        let trays = &report.ams[0].trays;
        assert_eq!(trays.len(), 4);
        assert_eq!(trays[0].remain_percent, Some(60));
        assert_eq!(
            trays[0].material.as_deref(),
            Some("PLA"),
            "tray 0 keeps its spool"
        );
        assert!(!trays[1].loaded, "tray 1 was emptied");
        assert_eq!(trays[1].colour, None);
        assert_eq!(trays[2].material.as_deref(), Some("ABS"));
        assert_eq!(
            trays[3].preset.as_deref(),
            Some("GFL99"),
            "tray 3 untouched"
        );
        assert_eq!(report.ams[0].humidity_index.as_deref(), Some("4"));
        assert_eq!(report.tray_now, Some(2));
    }

    #[test]
    fn the_real_p1_capture_merges_and_reads() {
        let text = include_str!("../../../../shared/fixtures/mqtt/p1-fullstatus-printing.json");
        let value: Value = serde_json::from_str(text).expect("fixture is JSON");
        let mut state = PrinterState::new();
        state.merge(&value["print"]);
        let report = state.report();
        assert_eq!(report.gcode_state, Some(GcodeState::Running));
        assert_eq!(report.percent, Some(11));
        assert_eq!(report.total_layers, Some(749));
        assert_eq!(report.wifi_signal_dbm, Some(-66));
        assert!(!report.ams.is_empty());
        assert_eq!(report.ams[0].trays[0].colour.as_deref(), Some("AF7933FF"));
    }

    #[test]
    fn lenient_numbers_and_errors() {
        let mut state = PrinterState::new();
        state.merge(
            &json!({"mc_percent":"41","layer_num":7.0,"print_error":50348044,"fun":"3EC1AFFF9CFF"}),
        );
        let report = state.report();
        assert_eq!(report.percent, Some(41));
        assert_eq!(report.layer, Some(7));
        let error = report.print_error.expect("non-zero error");
        assert_eq!(error.to_string(), "0300_400C");
        assert!(error.is_cancel());
        assert_eq!(report.signature_required, Some(true));
        state.merge(&json!({"print_error": 0}));
        assert_eq!(state.print_error(), None);
    }

    #[test]
    fn hms_codes_render_and_parse() {
        let hms = Hms {
            attr: 50331904,
            code: 65543,
        };
        assert_eq!(hms.to_string(), "HMS_0300_0100_0001_0007");
        assert_eq!(Hms::parse("HMS_0300_0100_0001_0007"), Some(hms));
        assert_eq!(
            Hms::parse("0500050000010007"),
            Some(Hms::COMMAND_VERIFICATION_FAILED)
        );
        assert_eq!(Hms::parse("nonsense"), None);
        assert_eq!(hms.module(), 0x03);
        assert_eq!(hms.severity(), HmsSeverity::Fatal);
    }

    #[test]
    fn messages_are_classified() {
        let response =
            br#"{"print":{"command":"pause","sequence_id":"20","param":"","result":"success"}}"#;
        match Incoming::parse(response).expect("parses") {
            Incoming::Response(r) => {
                assert_eq!(r.sequence_id.as_deref(), Some("20"));
                assert!(r.is_success());
            }
            other => panic!("expected a response, got {other:?}"),
        }
        let log = br#"{"mc_print":{"command":"push_info","param":"log line"}}"#;
        assert!(matches!(Incoming::parse(log), Ok(Incoming::Other { .. })));
        assert!(Incoming::parse(b"[1]").is_err());
        assert!(Incoming::parse(b"not json").is_err());
    }
}
