//! Invitations to a farm: pending until the invitee accepts or declines, an admin
//! revokes, or seven days pass. Only a pending, unexpired invitation can be answered.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// How long an invitation (and its mailed link) works.
pub const LIFETIME: Duration = Duration::days(7);

/// Where an invitation stands, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for the invitee.
    Pending,
    /// The invitee joined the farm.
    Accepted,
    /// The invitee said no.
    Declined,
    /// An admin took it back.
    Revoked,
}

impl Status {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Accepted => "accepted",
            Status::Declined => "declined",
            Status::Revoked => "revoked",
        }
    }

    /// Parses the stored text.
    pub fn parse(text: &str) -> Option<Status> {
        match text {
            "pending" => Some(Status::Pending),
            "accepted" => Some(Status::Accepted),
            "declined" => Some(Status::Declined),
            "revoked" => Some(Status::Revoked),
            _ => None,
        }
    }
}

/// Where an invitation stands at a moment: its stored status, or expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Can be accepted or declined.
    Pending,
    /// Pending, but past its expiry.
    Expired,
    /// The invitee joined.
    Accepted,
    /// The invitee said no.
    Declined,
    /// An admin took it back.
    Revoked,
}

impl State {
    /// The state of an invitation stored as `status`, expiring at `expires_at`, at `now`.
    /// An expiry that does not parse counts as past: such a link should not work.
    pub fn at(status: Status, expires_at: &str, now: DateTime<Utc>) -> State {
        match status {
            Status::Pending => match crate::time::parse(expires_at) {
                Some(at) if at > now => State::Pending,
                _ => State::Expired,
            },
            Status::Accepted => State::Accepted,
            Status::Declined => State::Declined,
            Status::Revoked => State::Revoked,
        }
    }

    /// The state's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Expired => "expired",
            State::Accepted => "accepted",
            State::Declined => "declined",
            State::Revoked => "revoked",
        }
    }

    /// Checks that the invitee may still accept or decline.
    pub fn check_answerable(self) -> Result<(), InvitationError> {
        match self {
            State::Pending => Ok(()),
            State::Expired => Err(InvitationError::Expired),
            State::Accepted => Err(InvitationError::AlreadyAccepted),
            State::Declined => Err(InvitationError::Declined),
            State::Revoked => Err(InvitationError::Revoked),
        }
    }
}

/// Why an invitation can't be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvitationError {
    /// Seven days passed.
    #[error("this invitation has expired; ask the farm's admin to invite you again")]
    Expired,
    /// It was accepted already.
    #[error("this invitation was accepted already")]
    AlreadyAccepted,
    /// The invitee declined it.
    #[error("this invitation was declined; ask the farm's admin to invite you again")]
    Declined,
    /// An admin revoked it.
    #[error("this invitation was withdrawn by the farm")]
    Revoked,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn a_pending_invitation_can_be_answered_until_it_expires() {
        let later = crate::time::format(now() + LIFETIME);
        assert_eq!(State::at(Status::Pending, &later, now()), State::Pending);
        assert!(State::Pending.check_answerable().is_ok());
        let past = crate::time::format(now() - Duration::seconds(1));
        let expired = State::at(Status::Pending, &past, now());
        assert_eq!(expired, State::Expired);
        assert_eq!(expired.check_answerable(), Err(InvitationError::Expired));
        assert_eq!(State::at(Status::Pending, "garbled", now()), State::Expired);
    }

    #[test]
    fn an_answered_or_revoked_invitation_stays_closed_even_before_its_expiry() {
        let later = crate::time::format(now() + LIFETIME);
        for (status, why) in [
            (Status::Accepted, InvitationError::AlreadyAccepted),
            (Status::Declined, InvitationError::Declined),
            (Status::Revoked, InvitationError::Revoked),
        ] {
            let state = State::at(status, &later, now());
            assert_eq!(state.check_answerable(), Err(why));
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Status::parse("maybe"), None);
    }
}
