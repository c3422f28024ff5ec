//! Requests published to `device/{serial}/request`, and the responses that
//! come back on the report topic (protocol reference §1.2, §1.4, §3).
//!
//! The same [`Command`] type builds payloads (hub) and parses them (simulator),
//! so the two sides cannot drift apart.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value, json};

use crate::report::{int, text};

/// The error code observed when a command is refused for lack of a signature.
pub const ERR_SIGNATURE_REQUIRED: i64 = 84_033_543;

/// A light the printer can switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LightNode {
    /// The chamber light (every model).
    Chamber,
    /// The work light (X1 only).
    Work,
}

impl LightNode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            LightNode::Chamber => "chamber_light",
            LightNode::Work => "work_light",
        }
    }

    fn parse(text: &str) -> Option<LightNode> {
        match text {
            "chamber_light" => Some(LightNode::Chamber),
            "work_light" => Some(LightNode::Work),
            _ => None,
        }
    }
}

/// A light mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LightMode {
    /// On.
    On,
    /// Off.
    Off,
    /// Flashing.
    Flashing,
}

impl LightMode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            LightMode::On => "on",
            LightMode::Off => "off",
            LightMode::Flashing => "flashing",
        }
    }

    fn parse(text: &str) -> Option<LightMode> {
        match text {
            "on" => Some(LightMode::On),
            "off" => Some(LightMode::Off),
            "flashing" => Some(LightMode::Flashing),
            _ => None,
        }
    }
}

/// Start printing plate N of a sliced 3MF already uploaded by FTPS (`print.project_file`).
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectFile {
    /// Plate index, 1-based (`param` = `Metadata/plate_N.gcode`).
    pub plate: u32,
    /// Where the printer finds the 3MF (`file:///sdcard/<path>` or `ftp:///<path>`).
    pub url: String,
    /// The file name (`file`).
    pub file: String,
    /// Job name shown on the printer and echoed in reports.
    pub subtask_name: String,
    /// MD5 of the uploaded file, uppercase hex; empty when `None`.
    pub md5: Option<String>,
    /// Whether to feed from the AMS (else the external spool).
    pub use_ams: bool,
    /// Project filament slot → global tray (`ams*4+slot`, 254 external, -1 unused).
    pub ams_mapping: Vec<i32>,
    /// `auto`, `cool_plate`, `eng_plate`, `hot_plate`, `textured_plate`.
    pub bed_type: String,
    /// Record a timelapse.
    pub timelapse: bool,
    /// Level the bed first (sent under both spellings).
    pub bed_leveling: bool,
    /// Dynamic flow calibration.
    pub flow_cali: bool,
    /// Resonance calibration.
    pub vibration_cali: bool,
    /// X1 first-layer inspection.
    pub layer_inspect: bool,
}

impl ProjectFile {
    /// A job for `path` (as uploaded, relative to the card root) and plate `plate`,
    /// with the usual LAN defaults: `file:///sdcard/` URL, AMS on with no
    /// mapping, `auto` bed, levelling on, no timelapse.
    pub fn new(path: &str, plate: u32) -> ProjectFile {
        let path = path.trim_start_matches('/');
        let file = path.rsplit('/').next().unwrap_or(path).to_owned();
        ProjectFile {
            plate,
            url: format!("file:///sdcard/{path}"),
            subtask_name: job_name(&file),
            file,
            md5: None,
            use_ams: true,
            ams_mapping: Vec::new(),
            bed_type: "auto".to_owned(),
            timelapse: false,
            bed_leveling: true,
            flow_cali: false,
            vibration_cali: true,
            layer_inspect: false,
        }
    }

    /// The plate G-code path inside the 3MF (`Metadata/plate_N.gcode`).
    pub fn plate_path(&self) -> String {
        format!("Metadata/plate_{}.gcode", self.plate)
    }

    /// The file's path on the card, from `url` (`file:///sdcard/x`,
    /// `ftp:///x`, `ftp:///cache/x`), else from `file`. No leading slash.
    pub fn card_path(&self) -> String {
        let url = self.url.trim();
        let path = [
            "file:///sdcard/",
            "file:///mnt/sdcard/",
            "ftp://",
            "file://",
        ]
        .iter()
        .find_map(|prefix| url.strip_prefix(prefix))
        .unwrap_or(if url.is_empty() { &self.file } else { url });
        path.trim_start_matches('/').to_owned()
    }

    fn to_fields(&self, map: &mut Map<String, Value>) {
        let fields = json!({
            "param": self.plate_path(),
            "url": self.url,
            "file": self.file,
            "subtask_name": self.subtask_name,
            "md5": self.md5.clone().unwrap_or_default(),
            "project_id": "0", "profile_id": "0", "task_id": "0", "subtask_id": "0",
            "bed_type": self.bed_type,
            "timelapse": self.timelapse,
            // Both spellings circulate in public code; firmware reads one of them.
            "bed_levelling": self.bed_leveling,
            "bed_leveling": self.bed_leveling,
            "flow_cali": self.flow_cali,
            "vibration_cali": self.vibration_cali,
            "layer_inspect": self.layer_inspect,
            "use_ams": self.use_ams,
            "ams_mapping": self.ams_mapping,
        });
        if let Value::Object(fields) = fields {
            map.extend(fields);
        }
    }

    fn from_body(body: &Map<String, Value>) -> Result<ProjectFile, CommandError> {
        let param = body.get("param").and_then(text).unwrap_or_default();
        let plate = parse_plate_path(&param).ok_or(CommandError::Field("param"))?;
        let flag = |key: &str, default: bool| body.get(key).and_then(boolean).unwrap_or(default);
        let url = body.get("url").and_then(text).unwrap_or_default();
        let file = body.get("file").and_then(text).unwrap_or_default();
        if url.is_empty() && file.is_empty() {
            return Err(CommandError::Field("url"));
        }
        let name_source = if file.is_empty() {
            url.rsplit('/').next().unwrap_or_default().to_owned()
        } else {
            file.clone()
        };
        Ok(ProjectFile {
            plate,
            subtask_name: body
                .get("subtask_name")
                .and_then(text)
                .unwrap_or_else(|| job_name(&name_source)),
            url,
            file,
            md5: body.get("md5").and_then(text).filter(|m| !m.is_empty()),
            use_ams: flag("use_ams", false),
            ams_mapping: body
                .get("ams_mapping")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(int)
                        .filter_map(|v| i32::try_from(v).ok())
                        .collect()
                })
                .unwrap_or_default(),
            bed_type: body
                .get("bed_type")
                .and_then(text)
                .unwrap_or_else(|| "auto".to_owned()),
            timelapse: flag("timelapse", false),
            bed_leveling: body
                .get("bed_leveling")
                .or_else(|| body.get("bed_levelling"))
                .and_then(boolean)
                .unwrap_or(false),
            flow_cali: flag("flow_cali", false),
            vibration_cali: flag("vibration_cali", false),
            layer_inspect: flag("layer_inspect", false),
        })
    }
}

/// The job name a printer shows for a file: the name without `.gcode.3mf` / `.3mf`.
pub fn job_name(file: &str) -> String {
    let lower = file.to_ascii_lowercase();
    for suffix in [".gcode.3mf", ".3mf", ".gcode"] {
        if lower.ends_with(suffix) {
            return file[..file.len() - suffix.len()].to_owned();
        }
    }
    file.to_owned()
}

/// Parses `Metadata/plate_N.gcode` (leading slash tolerated) into N.
pub fn parse_plate_path(param: &str) -> Option<u32> {
    param
        .trim()
        .trim_start_matches('/')
        .strip_prefix("Metadata/plate_")?
        .strip_suffix(".gcode")?
        .parse()
        .ok()
        .filter(|n| *n > 0)
}

/// One request a client can publish.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `pushing.pushall`: ask for the full report.
    Pushall,
    /// `pushing.start`: wake a printer that stopped publishing.
    PushStart,
    /// `info.get_version`: firmware and module versions.
    GetVersion,
    /// `print.pause`.
    Pause,
    /// `print.resume`.
    Resume,
    /// `print.stop`: cancel the job.
    Stop,
    /// `system.ledctrl`.
    Light {
        /// Which light.
        node: LightNode,
        /// Its new mode.
        mode: LightMode,
    },
    /// `print.project_file`: start a sliced 3MF.
    ProjectFile(Box<ProjectFile>),
    /// `print.gcode_line`: lines joined by `\n`.
    GcodeLine(String),
    /// `print.print_speed`: 1 silent .. 4 ludicrous.
    PrintSpeed(u8),
    /// `print.skip_objects`: slice_info `identify_id`s.
    SkipObjects(Vec<u64>),
    /// Any other request, kept as sent.
    Other {
        /// The top-level key.
        class: String,
        /// `command`.
        command: String,
    },
}

impl Command {
    /// The top-level key of the request (`print`, `pushing`, `system`, `info`).
    pub fn class(&self) -> &str {
        match self {
            Command::Pushall | Command::PushStart => "pushing",
            Command::GetVersion => "info",
            Command::Light { .. } => "system",
            Command::Pause
            | Command::Resume
            | Command::Stop
            | Command::ProjectFile(_)
            | Command::GcodeLine(_)
            | Command::PrintSpeed(_)
            | Command::SkipObjects(_) => "print",
            Command::Other { class, .. } => class,
        }
    }

    /// The `command` string.
    pub fn name(&self) -> &str {
        match self {
            Command::Pushall => "pushall",
            Command::PushStart => "start",
            Command::GetVersion => "get_version",
            Command::Pause => "pause",
            Command::Resume => "resume",
            Command::Stop => "stop",
            Command::Light { .. } => "ledctrl",
            Command::ProjectFile(_) => "project_file",
            Command::GcodeLine(_) => "gcode_line",
            Command::PrintSpeed(_) => "print_speed",
            Command::SkipObjects(_) => "skip_objects",
            Command::Other { command, .. } => command,
        }
    }

    /// Whether recent firmware refuses it unless the printer is in LAN-only
    /// mode with Developer Mode on (reading requests keep working).
    pub fn needs_developer_mode(&self) -> bool {
        !matches!(
            self,
            Command::Pushall | Command::PushStart | Command::GetVersion
        )
    }

    /// The JSON payload with the given `sequence_id`.
    pub fn to_json(&self, sequence_id: &str) -> Value {
        let mut body = Map::new();
        body.insert("sequence_id".into(), sequence_id.into());
        body.insert("command".into(), self.name().into());
        match self {
            Command::Pushall => {
                body.insert("version".into(), 1.into());
                body.insert("push_target".into(), 1.into());
            }
            Command::Pause | Command::Resume | Command::Stop => {
                body.insert("param".into(), "".into());
            }
            Command::Light { node, mode } => {
                body.insert("led_node".into(), node.as_str().into());
                body.insert("led_mode".into(), mode.as_str().into());
                // Firmware wants the timing fields even for plain on/off.
                body.insert("led_on_time".into(), 500.into());
                body.insert("led_off_time".into(), 500.into());
                body.insert("loop_times".into(), 0.into());
                body.insert("interval_time".into(), 0.into());
            }
            Command::ProjectFile(job) => job.to_fields(&mut body),
            Command::GcodeLine(lines) => {
                let mut lines = lines.clone();
                if !lines.ends_with('\n') {
                    lines.push('\n');
                }
                body.insert("param".into(), lines.into());
            }
            Command::PrintSpeed(level) => {
                body.insert("param".into(), level.to_string().into());
            }
            Command::SkipObjects(ids) => {
                body.insert("obj_list".into(), json!(ids));
            }
            Command::PushStart | Command::GetVersion | Command::Other { .. } => {}
        }
        let mut top = Map::new();
        top.insert(self.class().to_owned(), Value::Object(body));
        Value::Object(top)
    }

    /// The payload as bytes, ready to publish.
    pub fn to_payload(&self, sequence_id: &str) -> Vec<u8> {
        self.to_json(sequence_id).to_string().into_bytes()
    }
}

/// A parsed request: what the simulator receives on the request topic.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The caller's `sequence_id`, to echo in the response (`"0"` when absent).
    pub sequence_id: String,
    /// What was asked.
    pub command: Command,
    /// The request object as sent, for echoing back.
    pub body: Map<String, Value>,
}

impl Request {
    /// Parses a request payload.
    pub fn parse(payload: &[u8]) -> Result<Request, CommandError> {
        let value: Value = serde_json::from_slice(payload).map_err(CommandError::Json)?;
        let Value::Object(top) = value else {
            return Err(CommandError::Shape);
        };
        let Some((class, Value::Object(body))) = top.into_iter().find(|(_, v)| v.is_object())
        else {
            return Err(CommandError::Shape);
        };
        let name = body
            .get("command")
            .and_then(text)
            .ok_or(CommandError::Field("command"))?;
        let sequence_id = body
            .get("sequence_id")
            .and_then(text)
            .unwrap_or_else(|| "0".to_owned());
        let param = || body.get("param").and_then(text).unwrap_or_default();
        let command = match (class.as_str(), name.as_str()) {
            ("pushing", "pushall") => Command::Pushall,
            ("pushing", "start") => Command::PushStart,
            ("info", "get_version") => Command::GetVersion,
            ("print", "pause") => Command::Pause,
            ("print", "resume") => Command::Resume,
            ("print", "stop") => Command::Stop,
            ("print", "project_file") => {
                Command::ProjectFile(Box::new(ProjectFile::from_body(&body)?))
            }
            ("print", "gcode_line") => Command::GcodeLine(param()),
            ("print", "print_speed") => Command::PrintSpeed(
                param()
                    .trim()
                    .parse()
                    .ok()
                    .filter(|l| (1..=4).contains(l))
                    .ok_or(CommandError::Field("param"))?,
            ),
            ("print", "skip_objects") => Command::SkipObjects(
                body.get("obj_list")
                    .and_then(Value::as_array)
                    .map(|ids| {
                        ids.iter()
                            .filter_map(int)
                            .filter_map(|v| u64::try_from(v).ok())
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            ("system", "ledctrl") => Command::Light {
                node: body
                    .get("led_node")
                    .and_then(Value::as_str)
                    .and_then(LightNode::parse)
                    .ok_or(CommandError::Field("led_node"))?,
                mode: body
                    .get("led_mode")
                    .and_then(Value::as_str)
                    .and_then(LightMode::parse)
                    .ok_or(CommandError::Field("led_mode"))?,
            },
            _ => Command::Other {
                class: class.clone(),
                command: name,
            },
        };
        Ok(Request {
            sequence_id,
            command,
            body,
        })
    }
}

/// The printer's answer to a request, from the report topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The class key (`print`, `system` ...).
    pub class: String,
    /// The request's `command`.
    pub command: String,
    /// The request's `sequence_id`, echoed.
    pub sequence_id: Option<String>,
    /// `result` (`success` / `fail`), as sent.
    pub result: String,
    /// `reason`, if any.
    pub reason: Option<String>,
    /// `err_code`, if any and non-zero.
    pub err_code: Option<i64>,
}

impl Response {
    /// Whether `result` is `success` (case-insensitive).
    pub fn is_success(&self) -> bool {
        self.result.eq_ignore_ascii_case("success")
    }

    /// Whether the printer refused the command because it was not signed
    /// (Developer Mode off): tell the user to enable LAN-only + Developer Mode.
    pub fn is_signature_refusal(&self) -> bool {
        self.err_code == Some(ERR_SIGNATURE_REQUIRED)
    }

    pub(crate) fn from_body(class: &str, body: &Map<String, Value>) -> Option<Response> {
        Some(Response {
            class: class.to_owned(),
            command: body.get("command").and_then(text).unwrap_or_default(),
            sequence_id: body.get("sequence_id").and_then(text),
            result: body.get("result").and_then(text)?,
            reason: body.get("reason").and_then(text).filter(|r| !r.is_empty()),
            err_code: body.get("err_code").and_then(int).filter(|c| *c != 0),
        })
    }
}

/// Incrementing `sequence_id`s, to match responses to requests.
#[derive(Debug, Default)]
pub struct SequenceIds(AtomicU64);

impl SequenceIds {
    /// Starts at 1.
    pub fn new() -> SequenceIds {
        SequenceIds(AtomicU64::new(1))
    }

    /// The next id, as the string the protocol wants.
    pub fn next_id(&self) -> String {
        self.0.fetch_add(1, Ordering::Relaxed).to_string()
    }
}

/// A request that could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Not JSON.
    #[error("request is not JSON: {0}")]
    Json(serde_json::Error),
    /// Not `{"<class>": {...}}`.
    #[error("request is not a JSON object with a class key")]
    Shape,
    /// A field is missing or malformed.
    #[error("request field `{0}` is missing or malformed")]
    Field(&'static str),
}

fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "on" | "enable" => Some(true),
            "false" | "0" | "off" | "disable" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_control_payloads_match_the_reference() {
        assert_eq!(
            Command::Pause.to_json("20"),
            json!({"print": {"sequence_id": "20", "command": "pause", "param": ""}})
        );
        assert_eq!(
            Command::Stop.to_json("22"),
            json!({"print": {"sequence_id": "22", "command": "stop", "param": ""}})
        );
        assert_eq!(
            Command::Pushall.to_json("1"),
            json!({"pushing": {"sequence_id": "1", "command": "pushall", "version": 1, "push_target": 1}})
        );
        assert_eq!(
            Command::GetVersion.to_json("3"),
            json!({"info": {"sequence_id": "3", "command": "get_version"}})
        );
    }

    #[test]
    fn ledctrl_sends_all_timing_fields() {
        let light = Command::Light {
            node: LightNode::Chamber,
            mode: LightMode::On,
        };
        assert_eq!(
            light.to_json("42"),
            json!({"system": {"sequence_id": "42", "command": "ledctrl", "led_node": "chamber_light",
                "led_mode": "on", "led_on_time": 500, "led_off_time": 500, "loop_times": 0, "interval_time": 0}})
        );
    }

    #[test]
    fn project_file_has_every_field_of_the_reference() {
        let mut job = ProjectFile::new("bracket_v3.gcode.3mf", 1);
        job.ams_mapping = vec![0, -1, 3];
        job.md5 = Some("0123456789ABCDEF0123456789ABCDEF".into());
        let json = Command::ProjectFile(Box::new(job)).to_json("30");
        let print = &json["print"];
        assert_eq!(print["command"], "project_file");
        assert_eq!(print["sequence_id"], "30");
        assert_eq!(print["param"], "Metadata/plate_1.gcode");
        assert_eq!(print["url"], "file:///sdcard/bracket_v3.gcode.3mf");
        assert_eq!(print["file"], "bracket_v3.gcode.3mf");
        assert_eq!(print["subtask_name"], "bracket_v3");
        assert_eq!(print["md5"], "0123456789ABCDEF0123456789ABCDEF");
        assert_eq!(print["bed_type"], "auto");
        assert_eq!(print["bed_levelling"], true);
        assert_eq!(print["bed_leveling"], true);
        assert_eq!(print["timelapse"], false);
        assert_eq!(print["use_ams"], true);
        assert_eq!(print["ams_mapping"], json!([0, -1, 3]));
        for id in ["project_id", "profile_id", "task_id", "subtask_id"] {
            assert_eq!(print[id], "0");
        }
    }

    #[test]
    fn every_built_command_parses_back_to_itself() {
        let mut job = ProjectFile::new("/jobs/part.3mf", 3);
        job.use_ams = false;
        job.timelapse = true;
        job.bed_type = "textured_plate".into();
        let commands = [
            Command::Pushall,
            Command::PushStart,
            Command::GetVersion,
            Command::Pause,
            Command::Resume,
            Command::Stop,
            Command::Light {
                node: LightNode::Work,
                mode: LightMode::Off,
            },
            Command::ProjectFile(Box::new(job)),
            Command::GcodeLine("M104 S200\nM140 S60\n".into()),
            Command::PrintSpeed(3),
            Command::SkipObjects(vec![206, 394]),
        ];
        for command in commands {
            let request = Request::parse(&command.to_payload("9")).expect("parses");
            assert_eq!(request.sequence_id, "9");
            assert_eq!(request.command, command);
        }
    }

    #[test]
    fn project_file_from_other_clients_parses_leniently() {
        let payload = br#"{"print":{"sequence_id":31,"command":"project_file","param":"Metadata/plate_2.gcode",
            "url":"ftp:///cache/part.gcode.3mf","bed_leveling":"true","use_ams":1,"ams_mapping":["0",1]}}"#;
        let request = Request::parse(payload).expect("parses");
        assert_eq!(request.sequence_id, "31");
        let Command::ProjectFile(job) = request.command else {
            panic!("expected project_file");
        };
        assert_eq!(job.plate, 2);
        assert_eq!(job.card_path(), "cache/part.gcode.3mf");
        assert_eq!(job.subtask_name, "part");
        assert!(job.bed_leveling && job.use_ams);
        assert_eq!(job.ams_mapping, vec![0, 1]);
    }

    #[test]
    fn a_bad_plate_path_is_refused() {
        let payload = br#"{"print":{"command":"project_file","param":"plate_1.gcode","url":"file:///sdcard/x.3mf"}}"#;
        assert!(matches!(
            Request::parse(payload),
            Err(CommandError::Field("param"))
        ));
        assert_eq!(parse_plate_path("/Metadata/plate_12.gcode"), Some(12));
        assert_eq!(parse_plate_path("Metadata/plate_0.gcode"), None);
    }

    #[test]
    fn unknown_requests_are_kept_not_refused() {
        let request = Request::parse(
            br#"{"camera":{"sequence_id":"45","command":"ipcam_timelapse","control":"enable"}}"#,
        )
        .expect("parses");
        assert_eq!(
            request.command,
            Command::Other {
                class: "camera".into(),
                command: "ipcam_timelapse".into()
            }
        );
        assert_eq!(request.body["control"], "enable");
        assert!(Request::parse(b"{}").is_err());
    }

    #[test]
    fn responses_detect_a_signature_refusal() {
        let body = json!({"command":"pause","sequence_id":"7","result":"FAIL","reason":"mqtt message verify failed","err_code":84033543});
        let Value::Object(body) = body else {
            unreachable!()
        };
        let response = Response::from_body("print", &body).expect("has a result");
        assert!(!response.is_success());
        assert!(response.is_signature_refusal());
    }

    #[test]
    fn sequence_ids_increase() {
        let ids = SequenceIds::new();
        assert_eq!(ids.next_id(), "1");
        assert_eq!(ids.next_id(), "2");
    }
}
