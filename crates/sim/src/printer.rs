//! One simulated printer: its state, its print progress, its answers to
//! requests, and the handle tests use to look inside and inject faults.

use std::io::Cursor;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bambu::command::{Command, ERR_SIGNATURE_REQUIRED, LightMode, ProjectFile, Request};
use bambu::report::{GcodeState, Hms, PrintError, STAGE_IDLE_P1, STAGE_IDLE_X1};
use bambu::{Model, mqtt};
use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use crate::storage::{Card, StoredFile};

/// Simulated seconds spent in PREPARE (the printer copying the file).
const PREPARE_SECONDS: f64 = 20.0;
/// Room temperature, °C.
const AMBIENT: f64 = 25.0;
/// Used when a 3MF has no prediction or layer count.
const FALLBACK_SECONDS: u64 = 1800;
const FALLBACK_LAYERS: u32 = 100;
/// How long `print_error` shows the cancel code after `stop` (real seconds).
const CANCEL_ERROR_SHOWN: Duration = Duration::from_secs(5);

/// Who a simulated printer is and where it listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrinterInfo {
    /// Serial number (model prefix + 12 characters).
    pub serial: String,
    /// Model.
    pub model: Model,
    /// Model code (`C12` ...).
    pub model_code: &'static str,
    /// User-visible name.
    pub name: String,
    /// LAN access code (MQTT and FTPS password).
    pub access_code: String,
    /// Address both endpoints listen on.
    pub ip: IpAddr,
    /// MQTT-over-TLS port.
    pub mqtt_port: u16,
    /// Implicit-FTPS port.
    pub ftps_port: u16,
    /// The camera's TLS port: JPEG frames on P1/A1, H.264 over RTSPS on X1 (always set).
    pub camera_port: Option<u16>,
}

/// A typed snapshot of a simulated printer, for assertions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrinterStatus {
    /// `gcode_state`.
    pub gcode_state: GcodeState,
    /// `mc_percent`.
    pub percent: u8,
    /// `layer_num`.
    pub layer: u32,
    /// `total_layer_num`.
    pub total_layers: u32,
    /// `mc_remaining_time`, minutes.
    pub remaining_minutes: u32,
    /// `stg_cur`.
    pub stage: i64,
    /// `print_error`, `None` when 0.
    pub print_error: Option<PrintError>,
    /// Active HMS messages.
    pub hms: Vec<Hms>,
    /// `subtask_name`.
    pub subtask_name: String,
}

/// A heater moving toward its target.
#[derive(Debug, Clone, Copy)]
struct Heater {
    temp: f64,
    target: f64,
    /// Time constant of the approach, simulated seconds.
    tau: f64,
}

impl Heater {
    fn new(tau: f64) -> Heater {
        Heater {
            temp: AMBIENT,
            target: 0.0,
            tau,
        }
    }

    fn advance(&mut self, dt: f64) {
        let goal = if self.target > 0.0 {
            self.target
        } else {
            AMBIENT
        };
        let next = self.temp + (goal - self.temp) * (1.0 - (-dt / self.tau).exp());
        // Snap when close, so an idle printer stops producing deltas.
        self.temp = if (goal - next).abs() < 0.3 {
            goal
        } else {
            (next * 10.0).round() / 10.0
        };
    }

    fn near_target(&self) -> bool {
        self.target <= 0.0 || (self.temp - self.target).abs() < 3.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Prepare,
    Running,
    Paused,
}

#[derive(Debug, Clone)]
struct Job {
    phase: Phase,
    /// Simulated seconds spent in PREPARE.
    prepared: f64,
    /// Simulated seconds of printing done.
    elapsed: f64,
    /// Plate prediction, seconds.
    total: f64,
    layers: u32,
    bed_leveling: bool,
    nozzle_target: f64,
    bed_target: f64,
}

/// Faults a test can inject.
#[derive(Debug, Clone, Default)]
struct Faults {
    /// Fail the current or next print when it reaches this percent.
    fail_at: Option<(u8, PrintError)>,
    /// Refuse state-changing commands (LAN-only + Developer Mode off).
    commands_refused: bool,
}

/// Everything about the printer that reports describe.
#[derive(Debug)]
struct Core {
    model: Model,
    last_advance: Instant,
    time_scale: f64,
    push_sequence: u64,
    gcode_state: GcodeState,
    job: Option<Job>,
    percent: u8,
    remaining_minutes: u32,
    layer: u32,
    total_layers: u32,
    prepare_percent: u8,
    stage: i64,
    print_error: u32,
    print_error_until: Option<Instant>,
    subtask_name: String,
    gcode_file: String,
    print_type: &'static str,
    start_time: u64,
    nozzle: Heater,
    bed: Heater,
    speed_level: u8,
    chamber_light: LightMode,
    work_light: LightMode,
    hms: Vec<Hms>,
    skipped_objects: Vec<u64>,
    wifi_dbm: i32,
    ip: IpAddr,
    faults: Faults,
    /// What subscribers were last sent, to compute deltas against.
    last_sent: Map<String, Value>,
    /// The AMS as reported (`ams` of the report); operators load trays ([`PrinterHandle::load_filament`]).
    ams: Value,
    /// The `ams_mapping` of the last print started.
    last_ams_mapping: Vec<i32>,
}

impl Core {
    fn new(model: Model, ip: IpAddr, time_scale: f64, wifi_dbm: i32) -> Core {
        Core {
            model,
            last_advance: Instant::now(),
            time_scale,
            push_sequence: 0,
            gcode_state: GcodeState::Idle,
            ams: ams(model),
            last_ams_mapping: Vec::new(),
            job: None,
            percent: 0,
            remaining_minutes: 0,
            layer: 0,
            total_layers: 0,
            prepare_percent: 0,
            stage: idle_stage(model),
            print_error: 0,
            print_error_until: None,
            subtask_name: String::new(),
            gcode_file: String::new(),
            print_type: "idle",
            start_time: 0,
            nozzle: Heater::new(25.0),
            bed: Heater::new(60.0),
            speed_level: 2,
            chamber_light: LightMode::On,
            work_light: LightMode::Off,
            hms: Vec::new(),
            skipped_objects: Vec::new(),
            wifi_dbm,
            ip,
            faults: Faults::default(),
            last_sent: Map::new(),
        }
    }

    /// Moves simulated time forward to `now`.
    fn advance(&mut self, now: Instant) {
        let real = now
            .saturating_duration_since(self.last_advance)
            .as_secs_f64();
        self.last_advance = now;
        let dt = real * self.time_scale;
        self.nozzle.advance(dt);
        self.bed.advance(dt);
        if self
            .print_error_until
            .is_some_and(|until| now >= until && self.print_error == PrintError::CANCELLED.0)
        {
            self.print_error = 0;
            self.print_error_until = None;
        }
        let Some(mut job) = self.job.take() else {
            return;
        };
        match job.phase {
            Phase::Paused => {}
            Phase::Prepare => {
                job.prepared += dt;
                self.prepare_percent = ((job.prepared / PREPARE_SECONDS) * 100.0).min(100.0) as u8;
                if job.prepared >= PREPARE_SECONDS {
                    job.phase = Phase::Running;
                    self.gcode_state = GcodeState::Running;
                    self.nozzle.target = job.nozzle_target;
                    self.bed.target = job.bed_target;
                    self.stage = 2;
                }
            }
            Phase::Running => {
                job.elapsed += dt;
                if job.elapsed >= job.total {
                    self.finish(&job);
                    return;
                }
                let progress = job.elapsed / job.total;
                self.percent = ((progress * 100.0) as u8).min(99);
                self.layer =
                    ((progress * f64::from(job.layers)).ceil() as u32).clamp(1, job.layers);
                self.remaining_minutes = ((job.total - job.elapsed) / 60.0).ceil() as u32;
                self.stage = if !(self.bed.near_target() && self.nozzle.near_target()) {
                    2
                } else if job.bed_leveling && job.elapsed < job.total * 0.03 {
                    1
                } else {
                    0
                };
                if let Some((at, error)) = self.faults.fail_at
                    && self.percent >= at
                {
                    self.faults.fail_at = None;
                    self.fail(error);
                    return;
                }
            }
        }
        self.job = Some(job);
    }

    fn finish(&mut self, job: &Job) {
        self.gcode_state = GcodeState::Finish;
        self.percent = 100;
        self.layer = job.layers;
        self.remaining_minutes = 0;
        self.end_job();
    }

    fn fail(&mut self, error: PrintError) {
        self.gcode_state = GcodeState::Failed;
        self.print_error = error.0;
        self.end_job();
    }

    fn end_job(&mut self) {
        self.job = None;
        self.stage = idle_stage(self.model);
        self.nozzle.target = 0.0;
        self.bed.target = 0.0;
    }

    fn start(&mut self, job: Job, file: &ProjectFile) {
        self.last_ams_mapping = file.ams_mapping.clone();
        self.gcode_state = GcodeState::Prepare;
        self.percent = 0;
        self.layer = 0;
        self.total_layers = job.layers;
        self.remaining_minutes = (job.total / 60.0).ceil() as u32;
        self.prepare_percent = 0;
        self.print_error = 0;
        self.print_error_until = None;
        self.subtask_name = file.subtask_name.clone();
        self.gcode_file = if self.model.is_x1_series() {
            // X1 runs the plate G-code from its RAM disk, not the card.
            format!("/data/{}", file.plate_path())
        } else {
            file.file.clone()
        };
        self.print_type = "local";
        self.start_time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.skipped_objects.clear();
        self.stage = 2;
        self.job = Some(job);
    }

    fn status(&self) -> PrinterStatus {
        PrinterStatus {
            gcode_state: self.gcode_state,
            percent: self.percent,
            layer: self.layer,
            total_layers: self.total_layers,
            remaining_minutes: self.remaining_minutes,
            stage: self.stage,
            print_error: (self.print_error != 0).then_some(PrintError(self.print_error)),
            hms: self.hms.clone(),
            subtask_name: self.subtask_name.clone(),
        }
    }

    /// The whole `print` object, without `command`, `msg` and `sequence_id`.
    fn full(&self) -> Map<String, Value> {
        let printing = self.job.is_some();
        let fan = if printing { "15" } else { "0" };
        let mut lights =
            vec![json!({"node": "chamber_light", "mode": self.chamber_light.as_str()})];
        if self.model.is_x1_series() {
            lights.push(json!({"node": "work_light", "mode": self.work_light.as_str()}));
        }
        let fun = if self.faults.commands_refused {
            "3EC1AFFF9CFF"
        } else {
            "3EC18FFF9CFF"
        };
        let ip = match self.ip {
            // The printer sends its IPv4 as a little-endian integer.
            IpAddr::V4(v4) => u64::from(u32::from_le_bytes(v4.octets())),
            IpAddr::V6(_) => 0,
        };
        let value = json!({
            "gcode_state": self.gcode_state.as_str(),
            "print_type": self.print_type,
            "subtask_name": self.subtask_name,
            "gcode_file": self.gcode_file,
            "project_id": "0", "profile_id": "0", "task_id": "0", "subtask_id": "0",
            "gcode_start_time": self.start_time.to_string(),
            "gcode_file_prepare_percent": self.prepare_percent.to_string(),
            "mc_percent": self.percent,
            "mc_remaining_time": self.remaining_minutes,
            "mc_print_stage": if printing { "2" } else { "1" },
            "stg_cur": self.stage,
            "stg": if printing { json!([2, 14, 1]) } else { json!([]) },
            "layer_num": self.layer,
            "total_layer_num": self.total_layers,
        });
        let machine = json!({
            "nozzle_temper": self.nozzle.temp,
            "nozzle_target_temper": self.nozzle.target,
            "bed_temper": self.bed.temp,
            "bed_target_temper": self.bed.target,
            // Only X1 has a chamber sensor; P1/A1 send a constant placeholder.
            "chamber_temper": if self.model.is_x1_series() { 28.0 } else { 5.0 },
            "spd_lvl": self.speed_level,
            "spd_mag": speed_magnitude(self.speed_level),
            "wifi_signal": format!("{}dBm", self.wifi_dbm),
            "cooling_fan_speed": fan, "big_fan1_speed": "0",
            "big_fan2_speed": if printing { "10" } else { "0" }, "heatbreak_fan_speed": fan,
            "nozzle_diameter": "0.4",
            "nozzle_type": if self.model.is_x1_series() { "hardened_steel" } else { "stainless_steel" },
            "sdcard": true,
            "home_flag": 0x100,
        });
        let health = json!({
            "print_error": self.print_error,
            "hms": self.hms.iter().map(|h| h.to_json()).collect::<Vec<_>>(),
            "lights_report": lights,
            "ipcam": {"ipcam_dev": "1", "ipcam_record": "enable", "timelapse": "disable", "resolution": "1080p"},
            "ams": self.ams.clone(),
            "vt_tray": {"id": "254", "tray_type": "", "tray_color": "00000000"},
            "s_obj": self.skipped_objects,
            "fun": fun,
            "lifecycle": "product",
            "online": {"ahb": false, "rfid": false},
            "net": {"conf": 0, "info": [{"ip": ip, "mask": 16_777_215}]},
            "upload": {"status": "idle", "progress": 0, "message": ""},
        });
        // Three literals: one would exceed the json! macro's recursion limit.
        let mut full = Map::new();
        for part in [value, machine, health] {
            if let Value::Object(part) = part {
                full.extend(part);
            }
        }
        full
    }

    fn next_sequence(&mut self) -> String {
        self.push_sequence += 1;
        self.push_sequence.to_string()
    }

    /// A full `push_status` (`msg` 0); what subscribers know becomes this.
    fn full_report(&mut self) -> Value {
        let full = self.full();
        self.last_sent = full.clone();
        self.wrap(full, 0)
    }

    /// A `push_status` with what changed since the last one, if anything did.
    /// X1 printers send the whole object each time, P1/A1 only the changes.
    fn delta_report(&mut self) -> Option<Value> {
        let full = self.full();
        let changed: Map<String, Value> = full
            .iter()
            .filter(|(key, value)| self.last_sent.get(*key) != Some(*value))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        if changed.is_empty() {
            return None;
        }
        self.last_sent = full.clone();
        if self.model.is_x1_series() {
            Some(self.wrap(full, 0))
        } else {
            Some(self.wrap(changed, 1))
        }
    }

    fn wrap(&mut self, mut print: Map<String, Value>, msg: u8) -> Value {
        print.insert("command".into(), "push_status".into());
        print.insert("msg".into(), msg.into());
        print.insert("sequence_id".into(), self.next_sequence().into());
        json!({ "print": print })
    }
}

fn idle_stage(model: Model) -> i64 {
    if model.is_x1_series() {
        STAGE_IDLE_X1
    } else {
        STAGE_IDLE_P1
    }
}

fn speed_magnitude(level: u8) -> u32 {
    match level {
        1 => 50,
        3 => 124,
        4 => 166,
        _ => 100,
    }
}

/// Filament in the AMS, per model: X1/P1S an AMS, A1 an AMS Lite, P1P none
/// (so clients also meet a printer without one).
fn ams(model: Model) -> Value {
    let trays = json!([
        {"id": "0", "tray_type": "PLA", "tray_color": "000000FF", "cols": ["000000FF"],
         "tray_info_idx": "GFA00", "tray_sub_brands": "PLA Basic", "remain": 63,
         "nozzle_temp_min": "190", "nozzle_temp_max": "230",
         "tag_uid": "0000000000000000", "tray_uuid": "00000000000000000000000000000000"},
        {"id": "1", "tray_type": "PETG", "tray_color": "F95959FF", "tray_info_idx": "GFG99", "remain": -1},
        {"id": "2"},
        {"id": "3", "tray_type": "PLA", "tray_color": "FFFFFFFF", "tray_info_idx": "GFL99", "remain": -1}
    ]);
    match model {
        Model::P1P => json!({"ams": [], "ams_exist_bits": "0", "tray_exist_bits": "0",
            "tray_now": "255", "tray_pre": "255", "tray_tar": "255"}),
        _ => json!({
            "ams": [{"id": "0", "humidity": "4", "temp": "24.1", "tray": trays}],
            "ams_exist_bits": "1", "tray_exist_bits": "b",
            "tray_now": "0", "tray_pre": "0", "tray_tar": "0"
        }),
    }
}

/// Nozzle and bed targets for the plate's first filament.
fn temperatures(material: Option<&str>) -> (f64, f64) {
    match material.map(str::to_ascii_uppercase).as_deref() {
        Some("PETG") => (250.0, 70.0),
        Some("ABS" | "ASA") => (260.0, 90.0),
        Some("TPU") => (230.0, 35.0),
        Some("PC") => (270.0, 100.0),
        _ => (220.0, 55.0),
    }
}

/// One simulated printer, shared by its endpoints and its ticker.
pub(crate) struct Printer {
    pub info: PrinterInfo,
    core: Mutex<Core>,
    pub card: Mutex<Card>,
    /// Payloads for the report topic, fanned out to every subscribed connection.
    reports: broadcast::Sender<Bytes>,
    /// Bumped to make every MQTT connection close (the dropped-connection fault).
    kick: watch::Sender<u64>,
    pub mqtt_connections: AtomicUsize,
    pub max_mqtt_clients: Option<usize>,
    kicks: AtomicU64,
    /// `project_file` requests received, started or refused.
    print_requests: AtomicU64,
    report_topic: String,
    request_topic: String,
}

impl Printer {
    pub fn new(
        info: PrinterInfo,
        time_scale: f64,
        storage_limit: u64,
        max_mqtt_clients: Option<usize>,
        wifi_dbm: i32,
    ) -> Printer {
        let (reports, _) = broadcast::channel(32);
        Printer {
            core: Mutex::new(Core::new(info.model, info.ip, time_scale, wifi_dbm)),
            card: Mutex::new(Card::new(storage_limit)),
            reports,
            kick: watch::channel(0).0,
            mqtt_connections: AtomicUsize::new(0),
            max_mqtt_clients,
            kicks: AtomicU64::new(0),
            print_requests: AtomicU64::new(0),
            report_topic: mqtt::report_topic(&info.serial),
            request_topic: mqtt::request_topic(&info.serial),
            info,
        }
    }

    fn core(&self) -> MutexGuard<'_, Core> {
        // A panic while holding the lock leaves plain data; keep serving.
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state the camera shows (simulated time brought up to now first).
    pub fn camera_status(&self) -> PrinterStatus {
        let mut core = self.core();
        core.advance(Instant::now());
        core.status()
    }

    pub fn card(&self) -> MutexGuard<'_, Card> {
        self.card.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn report_topic(&self) -> &str {
        &self.report_topic
    }

    pub fn request_topic(&self) -> &str {
        &self.request_topic
    }

    pub fn subscribe_reports(&self) -> broadcast::Receiver<Bytes> {
        self.reports.subscribe()
    }

    pub fn kicked(&self) -> watch::Receiver<u64> {
        self.kick.subscribe()
    }

    fn publish(&self, message: &Value) {
        // No subscriber is normal (nobody connected); nothing to do then.
        let _ = self.reports.send(Bytes::from(message.to_string()));
    }

    /// One tick: advance the simulation and push what changed.
    pub fn tick(&self) {
        let mut core = self.core();
        core.advance(Instant::now());
        if self.reports.receiver_count() == 0 {
            return;
        }
        if let Some(delta) = core.delta_report() {
            drop(core);
            self.publish(&delta);
        }
    }

    fn push_changes(&self) {
        self.tick();
    }

    /// Handles one payload from the request topic; answers go to the report topic.
    pub async fn handle_request(&self, payload: &[u8]) {
        let request = match Request::parse(payload) {
            Ok(request) => request,
            Err(error) => {
                tracing::debug!(serial = %self.info.serial, %error, "unparsable request ignored");
                return;
            }
        };
        tracing::debug!(serial = %self.info.serial, command = request.command.name(), "request");
        if matches!(request.command, Command::ProjectFile(_)) {
            self.print_requests.fetch_add(1, Ordering::Relaxed);
        }
        if request.command.needs_developer_mode() && self.core().faults.commands_refused {
            self.refuse(&request);
            return;
        }
        let outcome = match &request.command {
            Command::Pushall => {
                let full = self.core().full_report();
                self.publish(&full);
                return;
            }
            Command::PushStart | Command::Other { .. } => return,
            Command::GetVersion => {
                self.publish(&self.version(&request));
                return;
            }
            Command::ProjectFile(file) => self.start_print(file).await,
            command => self.control(command),
        };
        self.answer(&request, outcome);
        self.push_changes();
    }

    /// Pause, resume, stop, lights, speed, G-code: immediate state changes.
    fn control(&self, command: &Command) -> Result<(), String> {
        let mut core = self.core();
        core.advance(Instant::now());
        match command {
            Command::Pause => match core.job.as_mut() {
                Some(job) if job.phase == Phase::Running => {
                    job.phase = Phase::Paused;
                    core.gcode_state = GcodeState::Pause;
                    core.stage = 16;
                    Ok(())
                }
                _ => Err("no running print to pause".into()),
            },
            Command::Resume => match core.job.as_mut() {
                Some(job) if job.phase == Phase::Paused => {
                    job.phase = Phase::Running;
                    core.gcode_state = GcodeState::Running;
                    core.stage = 0;
                    Ok(())
                }
                _ => Err("no paused print to resume".into()),
            },
            Command::Stop => {
                if core.job.is_some() {
                    // Like P1: FAILED with the cancel code, cleared a few seconds later.
                    core.fail(PrintError::CANCELLED);
                    let shown = CANCEL_ERROR_SHOWN.div_f64(core.time_scale.max(1.0));
                    core.print_error_until =
                        Some(Instant::now() + shown.max(Duration::from_secs(2)));
                }
                Ok(())
            }
            Command::Light { node, mode } => {
                match node {
                    bambu::command::LightNode::Chamber => core.chamber_light = *mode,
                    bambu::command::LightNode::Work if core.model.is_x1_series() => {
                        core.work_light = *mode;
                    }
                    bambu::command::LightNode::Work => {
                        return Err("this model has no work light".into());
                    }
                }
                Ok(())
            }
            Command::PrintSpeed(level) => {
                core.speed_level = *level;
                Ok(())
            }
            Command::SkipObjects(ids) => {
                core.skipped_objects.extend(ids);
                Ok(())
            }
            Command::GcodeLine(lines) => {
                for line in lines.lines() {
                    let mut words = line.split_whitespace();
                    let code = words.next().unwrap_or_default();
                    let target = words
                        .find_map(|w| w.strip_prefix('S'))
                        .and_then(|s| s.parse::<f64>().ok());
                    match (code, target) {
                        ("M104" | "M109", Some(t)) => core.nozzle.target = t,
                        ("M140" | "M190", Some(t)) => core.bed.target = t,
                        _ => {}
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// `project_file`: find the upload, read its plate, start the job.
    async fn start_print(&self, file: &ProjectFile) -> Result<(), String> {
        if self.core().gcode_state.is_busy() {
            return Err("printer is busy".into());
        }
        let path = crate::storage::resolve("", &file.card_path());
        let Some(content) = self.card().get(&path) else {
            self.core().fail(PrintError::FILE_UNPARSABLE);
            return Err(format!("file not found: {path}"));
        };
        let plate_index = file.plate;
        // Reading a 3MF is blocking work (ZIP inflate); keep it off the reactor.
        let plate = tokio::task::spawn_blocking(move || {
            let project = threemf::read(Cursor::new(content), &threemf::Limits::default())
                .map_err(|e| e.to_string())?;
            project.require_sliced().map_err(|e| e.to_string())?;
            project
                .plate(plate_index)
                .cloned()
                .ok_or_else(|| format!("no plate {plate_index} in the file"))
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
        let plate = match plate {
            Ok(plate) => plate,
            Err(reason) => {
                self.core().fail(PrintError::FILE_UNPARSABLE);
                return Err(reason);
            }
        };
        let (nozzle_target, bed_target) = temperatures(
            plate
                .filaments
                .first()
                .and_then(|f| f.filament_type.as_deref()),
        );
        let total = plate
            .prediction_seconds
            .or(plate.estimated_seconds)
            .unwrap_or(FALLBACK_SECONDS)
            .max(1);
        let job = Job {
            phase: Phase::Prepare,
            prepared: 0.0,
            elapsed: 0.0,
            total: total as f64,
            layers: plate.layer_count.unwrap_or(FALLBACK_LAYERS).max(1),
            bed_leveling: file.bed_leveling,
            nozzle_target,
            bed_target,
        };
        let mut core = self.core();
        if core.gcode_state.is_busy() {
            return Err("printer is busy".into());
        }
        core.advance(Instant::now());
        core.start(job, file);
        Ok(())
    }

    fn answer(&self, request: &Request, outcome: Result<(), String>) {
        let mut body = request.body.clone();
        match outcome {
            Ok(()) => {
                body.insert("result".into(), "success".into());
                body.insert("reason".into(), "".into());
            }
            Err(reason) => {
                if request.command.name() == "project_file" {
                    body.insert("err_code".into(), PrintError::FILE_UNPARSABLE.0.into());
                }
                body.insert("result".into(), "fail".into());
                body.insert("reason".into(), reason.into());
            }
        }
        body.insert("sequence_id".into(), request.sequence_id.clone().into());
        self.publish(&json!({ request.command.class(): body }));
    }

    /// What a printer without Developer Mode does with an unsigned command.
    fn refuse(&self, request: &Request) {
        {
            let mut core = self.core();
            if !core.hms.contains(&Hms::COMMAND_VERIFICATION_FAILED) {
                core.hms.push(Hms::COMMAND_VERIFICATION_FAILED);
            }
        }
        let mut body = request.body.clone();
        body.insert("sequence_id".into(), request.sequence_id.clone().into());
        body.insert("result".into(), "fail".into());
        body.insert("reason".into(), "mqtt message verify failed".into());
        body.insert("err_code".into(), ERR_SIGNATURE_REQUIRED.into());
        self.publish(&json!({ request.command.class(): body }));
        self.push_changes();
    }

    fn version(&self, request: &Request) -> Value {
        let model = self.info.model;
        let (hw_ver, project) = model.version_module();
        let main_module = if model.is_x1_series() {
            "rv1126"
        } else {
            "esp32"
        };
        json!({"info": {
            "command": "get_version",
            "sequence_id": request.sequence_id,
            "result": "success", "reason": "",
            "module": [
                {"name": "ota", "sw_ver": "01.08.00.00", "hw_ver": "OTA", "sn": self.info.serial},
                {"name": main_module, "sw_ver": "01.08.00.00", "hw_ver": hw_ver,
                 "sn": self.info.serial, "project_name": project,
                 "product_name": format!("Bambu Lab {}", model.name())},
                {"name": "mc", "sw_ver": "00.00.30.00", "hw_ver": "MC07", "sn": ""}
            ]
        }})
    }

    pub fn drop_connections(&self) {
        let next = self.kicks.fetch_add(1, Ordering::Relaxed) + 1;
        self.kick.send_replace(next);
    }
}

/// Looks inside a simulated printer and injects faults. Cheap to clone.
#[derive(Clone)]
pub struct PrinterHandle(pub(crate) Arc<Printer>);

impl std::fmt::Debug for PrinterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrinterHandle")
            .field("serial", &self.0.info.serial)
            .field("model", &self.0.info.model)
            .finish_non_exhaustive()
    }
}

impl PrinterHandle {
    /// Serial, model, access code and ports.
    pub fn info(&self) -> &PrinterInfo {
        &self.0.info
    }

    /// Serial number.
    pub fn serial(&self) -> &str {
        &self.0.info.serial
    }

    /// Model.
    pub fn model(&self) -> Model {
        self.0.info.model
    }

    /// LAN access code.
    pub fn access_code(&self) -> &str {
        &self.0.info.access_code
    }

    /// The MQTT-over-TLS endpoint.
    pub fn mqtt_addr(&self) -> SocketAddr {
        SocketAddr::new(self.0.info.ip, self.0.info.mqtt_port)
    }

    /// The implicit-FTPS endpoint.
    pub fn ftps_addr(&self) -> SocketAddr {
        SocketAddr::new(self.0.info.ip, self.0.info.ftps_port)
    }

    /// The camera's TLS endpoint (JPEG frames on P1/A1, RTSPS on X1).
    pub fn camera_addr(&self) -> Option<SocketAddr> {
        self.0
            .info
            .camera_port
            .map(|port| SocketAddr::new(self.0.info.ip, port))
    }

    /// The JPEG the P1/A1 camera would send now (an X1 shows the same picture in H.264).
    pub fn camera_frame(&self) -> Vec<u8> {
        crate::camera_server::frame(&self.0.camera_status())
    }

    /// Current state (simulated time brought up to now first).
    pub fn status(&self) -> PrinterStatus {
        let mut core = self.0.core();
        core.advance(Instant::now());
        core.status()
    }

    /// The full `print` object a `pushall` would return now.
    pub fn report(&self) -> Value {
        let mut core = self.0.core();
        core.advance(Instant::now());
        Value::Object(core.full())
    }

    /// Files on the card.
    pub fn files(&self) -> Vec<StoredFile> {
        self.0.card().list()
    }

    /// The content of one file (`path` from the card root).
    pub fn file(&self, path: &str) -> Option<Bytes> {
        self.0.card().get(&crate::storage::resolve("", path))
    }

    /// Uploads stored on the card so far (a replaced file counts again).
    pub fn uploads(&self) -> u64 {
        self.0.card().stored
    }

    /// `project_file` requests received so far, started or refused.
    pub fn print_requests(&self) -> u64 {
        self.0.print_requests.load(Ordering::Relaxed)
    }

    /// Open MQTT connections.
    pub fn mqtt_connections(&self) -> usize {
        self.0.mqtt_connections.load(Ordering::Relaxed)
    }

    /// Simulated seconds per real second (60.0 = a minute per second).
    pub fn set_time_scale(&self, scale: f64) {
        let mut core = self.0.core();
        core.advance(Instant::now());
        core.time_scale = scale.max(0.0);
    }

    /// An operator loads a spool into AMS `slot` (unit × 4 + tray): the next report shows it.
    /// A printer without an AMS has nothing to load into; this does nothing there.
    pub fn load_filament(&self, slot: u32, filament_type: &str, colour_hex: &str) {
        {
            let mut core = self.0.core();
            let unit = (slot / 4) as usize;
            let tray = (slot % 4) as usize;
            let colour = format!(
                "{}FF",
                colour_hex.trim_start_matches('#').to_ascii_uppercase()
            );
            if let Some(entry) = core
                .ams
                .get_mut("ams")
                .and_then(|units| units.get_mut(unit))
                .and_then(|unit| unit.get_mut("tray"))
                .and_then(|trays| trays.get_mut(tray))
            {
                *entry = json!({"id": tray.to_string(), "tray_type": filament_type,
                    "tray_color": colour, "remain": 100});
            }
        }
        self.0.push_changes();
    }

    /// The `ams_mapping` of the last print started (which tray each filament came from).
    pub fn last_ams_mapping(&self) -> Vec<i32> {
        self.0.core().last_ams_mapping.clone()
    }

    /// Fault: raises an HMS message (e.g. [`Hms::HEATBED_TEMPERATURE_ABNORMAL`]).
    pub fn inject_hms(&self, hms: Hms) {
        {
            let mut core = self.0.core();
            if !core.hms.contains(&hms) {
                core.hms.push(hms);
            }
        }
        self.0.push_changes();
    }

    /// Clears every HMS message.
    pub fn clear_hms(&self) {
        self.0.core().hms.clear();
        self.0.push_changes();
    }

    /// Fault: the current (or next) print fails with `error` when it reaches `percent`.
    pub fn fail_print_at(&self, percent: u8, error: PrintError) {
        self.0.core().faults.fail_at = Some((percent.min(99), error));
    }

    /// Fault: closes every MQTT connection (clients must reconnect).
    pub fn drop_connections(&self) {
        self.0.drop_connections();
    }

    /// Fault: the card refuses every upload with 552 while `full` is set.
    pub fn set_storage_full(&self, full: bool) {
        self.0.card().full = full;
    }

    /// Quirk: answer `426 Failure reading network stream` after each complete
    /// upload, as real printers sometimes do (clients must check `SIZE`).
    pub fn set_426_after_upload(&self, on: bool) {
        self.0.card().answer_426_after_store = on;
    }

    /// Card capacity in bytes.
    pub fn set_storage_limit(&self, bytes: u64) {
        self.0.card().limit = bytes;
    }

    /// Fault: refuse state-changing commands as a printer without
    /// LAN-only + Developer Mode does (err_code 84033543, HMS 0500_0500_0001_0007).
    pub fn set_commands_refused(&self, refused: bool) {
        self.0.core().faults.commands_refused = refused;
        self.0.push_changes();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core(model: Model) -> Core {
        Core::new(model, "127.0.0.1".parse().expect("ip"), 1.0, -50)
    }

    fn job(total: f64, layers: u32) -> Job {
        Job {
            phase: Phase::Prepare,
            prepared: 0.0,
            elapsed: 0.0,
            total,
            layers,
            bed_leveling: true,
            nozzle_target: 220.0,
            bed_target: 55.0,
        }
    }

    #[test]
    fn a_print_goes_prepare_running_finish_in_simulated_time() {
        let mut core = core(Model::P1S);
        let t0 = Instant::now();
        core.last_advance = t0;
        core.start(job(600.0, 60), &ProjectFile::new("part.gcode.3mf", 1));
        assert_eq!(core.gcode_state, GcodeState::Prepare);
        assert_eq!(core.subtask_name, "part");
        core.advance(t0 + Duration::from_secs(21));
        assert_eq!(core.gcode_state, GcodeState::Running);
        core.advance(t0 + Duration::from_secs(21 + 300));
        assert_eq!(core.gcode_state, GcodeState::Running);
        assert_eq!(core.percent, 50);
        assert_eq!(core.layer, 30);
        assert_eq!(core.remaining_minutes, 5);
        core.advance(t0 + Duration::from_secs(21 + 601));
        assert_eq!(core.gcode_state, GcodeState::Finish);
        assert_eq!((core.percent, core.layer), (100, 60));
        assert_eq!(core.stage, STAGE_IDLE_P1);
    }

    #[test]
    fn p1_sends_deltas_and_x1_full_reports() {
        let mut p1 = core(Model::P1S);
        let full = p1.full_report();
        assert_eq!(full["print"]["msg"], 0);
        assert!(p1.delta_report().is_none(), "nothing changed");
        p1.speed_level = 3;
        let delta = p1.delta_report().expect("a change");
        assert_eq!(delta["print"]["msg"], 1);
        assert_eq!(delta["print"]["spd_lvl"], 3);
        assert!(delta["print"].get("gcode_state").is_none());

        let mut x1 = core(Model::X1C);
        x1.full_report();
        x1.speed_level = 3;
        let report = x1.delta_report().expect("a change");
        assert_eq!(report["print"]["msg"], 0);
        assert_eq!(report["print"]["gcode_state"], "IDLE");
        assert_eq!(report["print"]["stg_cur"], -1);
    }

    #[test]
    fn the_fail_fault_stops_the_print_at_its_percent() {
        let mut core = core(Model::A1);
        let t0 = Instant::now();
        core.last_advance = t0;
        core.faults.fail_at = Some((40, PrintError::FILAMENT_RUNOUT));
        core.start(job(100.0, 10), &ProjectFile::new("part.3mf", 1));
        core.advance(t0 + Duration::from_secs(21));
        core.advance(t0 + Duration::from_secs(21 + 45));
        assert_eq!(core.gcode_state, GcodeState::Failed);
        assert_eq!(core.print_error, PrintError::FILAMENT_RUNOUT.0);
        assert!(core.faults.fail_at.is_none(), "one-shot");
    }

    #[test]
    fn the_sample_report_reads_back_through_the_hub_model() {
        let mut core = core(Model::P1S);
        let mut state = bambu::PrinterState::new();
        state.merge(&core.full_report()["print"]);
        let report = state.report();
        assert_eq!(report.gcode_state, Some(GcodeState::Idle));
        assert_eq!(report.ams[0].trays.len(), 4);
        assert_eq!(report.wifi_signal_dbm, Some(-50));
        assert_eq!(report.signature_required, Some(false));
        assert_eq!(
            state.get("net").and_then(|n| n["info"][0]["ip"].as_u64()),
            Some(16_777_343)
        );
    }
}
