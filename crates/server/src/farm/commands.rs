//! Commands from the farm to a printer, through the hub that manages it.

use super::{Farm, FarmError, FarmResult};
use crate::hubs::{HubCommand, PrinterAction};
use domain::TenantId;
use domain::printers::MASKED_SECRET;
use proto::hub::{ConfigureAction, PrinterConfig};
use store::printers::Printer;

/// How long a hub has to bring back a camera frame: its own camera deadline (5 s) and
/// the way back.
pub const CAMERA_FRAME_DEADLINE: std::time::Duration = std::time::Duration::from_secs(8);

/// Why a printer's camera gave no frame.
#[derive(Debug, thiserror::Error)]
pub enum CameraFrameError {
    /// The printer is on no hub.
    #[error("the printer is not on a hub; assign it to a hub first")]
    NoHub,
    /// The printer has no serial number, which the hub knows it by.
    #[error("the printer has no serial number; set it first")]
    NoSerial,
    /// The hub is offline, slow, or refused (the camera's error is its reason).
    #[error(transparent)]
    Hub(crate::hubs::CommandError),
    /// The hub acknowledged without a frame (an older hub).
    #[error("the hub sent no picture (it may need an update)")]
    NoFrame,
    /// The frame is larger than allowed.
    #[error("the hub's picture is larger than allowed")]
    TooLarge,
    /// The frame is not base64.
    #[error("the hub's picture could not be read")]
    Garbled,
}

/// What an access code is sealed to: the farm and the printer.
pub fn access_code_context(tenant: &TenantId, printer: &str) -> String {
    format!("tenant/{tenant}/printer/{printer}/access-code")
}

impl Farm {
    /// The printer's access code opened (`None` when none is set; masked when the stored
    /// code does not open, which is logged: a key changed or the row is corrupt).
    pub fn opened_access_code(&self, printer: &Printer) -> Option<String> {
        let sealed = printer.access_code.as_ref()?;
        let context = access_code_context(
            &TenantId::from_stored(printer.tenant_id.clone()),
            &printer.id,
        );
        match self.cipher.open(sealed, &context) {
            Ok(code) => Some(code),
            Err(err) => {
                tracing::error!(printer_id = %printer.id, error = %err, "a stored access code does not open");
                Some(MASKED_SECRET.into())
            }
        }
    }

    /// The printer as its hub needs it, with the access code opened.
    pub fn printer_config(&self, printer: &Printer) -> PrinterConfig {
        PrinterConfig {
            id: printer.id.clone(),
            serial_number: printer.serial_number.clone().unwrap_or_default(),
            access_code: self
                .opened_access_code(printer)
                .filter(|code| code != MASKED_SECRET),
            ip_address: printer.ip_address.clone(),
            connection_type: printer.connection_type.clone(),
            model: Some(printer.model.clone()),
        }
    }

    /// Asks the printer's hub to take the printer on, follow its settings, or let it go.
    pub async fn configure_printer(
        &self,
        printer: &Printer,
        action: ConfigureAction,
    ) -> FarmResult<()> {
        let command = HubCommand::ConfigurePrinter {
            action,
            printer: self.printer_config(printer),
        };
        self.command_printer(printer, command).await
    }

    /// [`Farm::configure_printer`] in the background, if the hub is online: a printer
    /// changed on the dashboard follows without a hub restart, the answer does not wait
    /// for the hub's ack, and an offline hub learns its printers at its next welcome.
    pub fn tell_hub(&self, printer: &Printer, action: ConfigureAction) {
        let Some(hub) = printer.hub_id.clone() else {
            return;
        };
        if printer.serial_number.is_none() || !self.hubs.is_connected(&hub) {
            return;
        }
        let farm = self.clone();
        let printer = printer.clone();
        tokio::spawn(async move {
            if let Err(err) = farm.configure_printer(&printer, action).await {
                tracing::warn!(%hub, printer_id = %printer.id, error = %err, "the hub did not take the printer's settings");
            }
        });
    }

    /// Tells the printer to act (pause, resume, stop, light ...).
    pub async fn act_on_printer(&self, printer: &Printer, action: PrinterAction) -> FarmResult<()> {
        let serial = printer.serial_number.clone().ok_or_else(|| {
            FarmError::invalid(
                "serial_number",
                "the printer has no serial number; set it first",
            )
        })?;
        let command = HubCommand::PrinterCommand {
            printer_id: serial,
            action,
        };
        self.command_printer(printer, command).await
    }

    /// Sends a command to the printer's hub and waits for the ack; `HUB_OFFLINE` when no
    /// hub can take it.
    pub async fn command_printer(&self, printer: &Printer, command: HubCommand) -> FarmResult<()> {
        let Some(hub) = printer.hub_id.as_deref() else {
            return Err(FarmError::refused(
                "HUB_OFFLINE",
                None,
                format!(
                    "printer '{}' is not on a hub; assign it to a hub first",
                    printer.name
                ),
            ));
        };
        self.hubs.send(hub, command).await.map_err(|err| {
            FarmError::command_failed(
                err,
                format!("the hub of printer '{}' is offline", printer.name),
            )
        })
    }

    /// One JPEG from the printer's own camera, fetched by its hub (P1/A1: port 6000 over
    /// TLS with the access code) and carried back in the ack; the error says why not.
    pub async fn camera_frame(&self, printer: &Printer) -> Result<Vec<u8>, CameraFrameError> {
        let Some(hub) = printer.hub_id.as_deref() else {
            return Err(CameraFrameError::NoHub);
        };
        let Some(serial) = printer.serial_number.clone() else {
            return Err(CameraFrameError::NoSerial);
        };
        let command = HubCommand::CameraSnapshot { printer_id: serial };
        let frame = self
            .hubs
            .request(hub, command, CAMERA_FRAME_DEADLINE)
            .await
            .map_err(CameraFrameError::Hub)?
            .ok_or(CameraFrameError::NoFrame)?;
        use base64::Engine;
        // Decoded size is at most 3/4 of the text: refuse what the cap rules out unread.
        if frame.data.len() / 4 * 3 > proto::hub::MAX_CAMERA_FRAME_BYTES + 3 {
            return Err(CameraFrameError::TooLarge);
        }
        base64::engine::general_purpose::STANDARD
            .decode(frame.data.as_bytes())
            .map_err(|_| CameraFrameError::Garbled)
    }

    /// Sends a command to a hub itself (look for printers, a GPIO pin, disconnect).
    pub async fn command_hub(
        &self,
        hub_id: &str,
        name: &str,
        command: HubCommand,
    ) -> FarmResult<()> {
        self.hubs
            .send(hub_id, command)
            .await
            .map_err(|err| FarmError::command_failed(err, format!("hub '{name}' is offline")))
    }
}
