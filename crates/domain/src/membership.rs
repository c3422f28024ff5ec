//! Who may change whom in a farm: the owner/admin rules.
//!
//! Owners manage everyone. Admins manage operators and viewers and may grant up to
//! admin. Nobody may leave a farm without an owner.

use crate::Role;

/// Why a membership change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    /// The actor's role is too low for this change.
    #[error("a {actor} cannot {action}")]
    NotAllowed {
        /// The acting member's role.
        actor: Role,
        /// What was attempted, in words.
        action: String,
    },
    /// The change would leave the farm without an owner.
    #[error("the farm's last owner cannot be removed or demoted; make another member owner first")]
    LastOwner,
}

/// Checks that `actor` may invite someone as `role`.
pub fn check_invite(actor: Role, role: Role) -> Result<(), MembershipError> {
    if actor < Role::Admin || (role == Role::Owner && actor != Role::Owner) {
        return Err(MembershipError::NotAllowed {
            actor,
            action: format!("invite a member as {role}"),
        });
    }
    Ok(())
}

/// Whether `actor` manages a member who has `target` (owners manage all, admins those below admin).
fn manages(actor: Role, target: Role) -> bool {
    actor == Role::Owner || (actor == Role::Admin && target < Role::Admin)
}

/// Checks that `actor` may change a member from `current` to `new`, given the farm's owner count.
pub fn check_role_change(
    actor: Role,
    current: Role,
    new: Role,
    owners: usize,
) -> Result<(), MembershipError> {
    let grant_ok = new != Role::Owner || actor == Role::Owner;
    if !manages(actor, current) || !grant_ok || actor < Role::Admin {
        return Err(MembershipError::NotAllowed {
            actor,
            action: format!("change a {current} to {new}"),
        });
    }
    if current == Role::Owner && new != Role::Owner && owners <= 1 {
        return Err(MembershipError::LastOwner);
    }
    Ok(())
}

/// Checks that `actor` may remove a member with role `target`; `is_self` when leaving.
pub fn check_removal(
    actor: Role,
    target: Role,
    is_self: bool,
    owners: usize,
) -> Result<(), MembershipError> {
    if !is_self && (actor < Role::Admin || !manages(actor, target)) {
        return Err(MembershipError::NotAllowed {
            actor,
            action: format!("remove a {target}"),
        });
    }
    if target == Role::Owner && owners <= 1 {
        return Err(MembershipError::LastOwner);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::*;

    #[test]
    fn only_admins_and_owners_invite_and_only_owners_invite_owners() {
        assert!(check_invite(Owner, Owner).is_ok());
        assert!(check_invite(Admin, Admin).is_ok());
        assert!(check_invite(Admin, Operator).is_ok());
        assert!(check_invite(Admin, Owner).is_err());
        assert!(check_invite(Operator, Viewer).is_err());
        assert!(check_invite(Viewer, Viewer).is_err());
    }

    #[test]
    fn the_last_owner_cannot_be_demoted() {
        assert_eq!(
            check_role_change(Owner, Owner, Admin, 1),
            Err(MembershipError::LastOwner)
        );
        assert!(check_role_change(Owner, Owner, Admin, 2).is_ok());
    }

    #[test]
    fn the_last_owner_cannot_be_removed_even_by_leaving() {
        assert_eq!(
            check_removal(Owner, Owner, true, 1),
            Err(MembershipError::LastOwner)
        );
        assert_eq!(
            check_removal(Owner, Owner, false, 1),
            Err(MembershipError::LastOwner)
        );
        assert!(check_removal(Owner, Owner, false, 2).is_ok());
    }

    #[test]
    fn admins_manage_only_members_below_admin() {
        assert!(check_role_change(Admin, Viewer, Operator, 1).is_ok());
        assert!(check_role_change(Admin, Operator, Admin, 1).is_ok());
        assert!(check_role_change(Admin, Admin, Viewer, 1).is_err());
        assert!(check_role_change(Admin, Owner, Viewer, 2).is_err());
        assert!(check_role_change(Admin, Viewer, Owner, 1).is_err());
        assert!(check_removal(Admin, Operator, false, 1).is_ok());
        assert!(check_removal(Admin, Admin, false, 1).is_err());
        assert!(check_removal(Admin, Owner, false, 2).is_err());
    }

    #[test]
    fn operators_and_viewers_manage_nobody_but_may_leave() {
        assert!(check_role_change(Operator, Viewer, Operator, 1).is_err());
        assert!(check_removal(Operator, Viewer, false, 1).is_err());
        assert!(check_removal(Viewer, Viewer, true, 1).is_ok());
    }

    #[test]
    fn owners_promote_and_demote_anyone_while_another_owner_remains() {
        assert!(check_role_change(Owner, Viewer, Owner, 1).is_ok());
        assert!(check_role_change(Owner, Admin, Viewer, 1).is_ok());
    }
}
