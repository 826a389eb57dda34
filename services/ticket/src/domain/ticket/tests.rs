//! The rules of changing a ticket, without a database: a case per rule, and the invariants
//! every accepted change keeps.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use super::*;

const NOW: Micros = 1_800_000_000_000_000;
const DUE: Micros = NOW + 3_600_000_000;

fn ticket(state: TicketState) -> Ticket {
    let new = NewTicket::parse(QueueId::new(), "Printer on fire", None, "", None, None).unwrap();
    let number = TicketNumber::compose(
        chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
        SystemId::new(10).unwrap(),
        TenantCode::new(1).unwrap(),
        1,
    );
    let mut t = Ticket::open(&new, TenantId::new(), number, None, NOW - 1000);
    t.state = state;
    t.pending_until = state.is_pending().then_some(NOW - 10);
    t.closed_at = (state.state_type() == StateType::Closed).then_some(NOW - 100);
    t
}

fn set_state(state: TicketState) -> TicketUpdate {
    TicketUpdate {
        state: Some(state),
        pending_until: state.is_pending().then_some(DUE),
        ..TicketUpdate::default()
    }
}

fn apply(t: &Ticket, update: TicketUpdate) -> Result<Change, TicketError> {
    t.apply(&update, &UpdateFacts::default(), NOW)
}

#[test]
fn a_stale_version_is_a_conflict() {
    let t = ticket(TicketState::New);
    let update = TicketUpdate {
        expected_version: Some(t.version + 1),
        ..set_state(TicketState::Open)
    };
    assert!(matches!(apply(&t, update), Err(TicketError::Conflict(_))));
    let current = TicketUpdate {
        expected_version: Some(t.version),
        ..set_state(TicketState::Open)
    };
    assert_eq!(apply(&t, current).unwrap().ticket.version, t.version + 1);
}

#[test]
fn pending_states_need_their_date_and_keep_it() {
    let open = ticket(TicketState::Open);
    let without = TicketUpdate {
        state: Some(TicketState::PendingReminder),
        ..TicketUpdate::default()
    };
    assert!(matches!(
        apply(&open, without.clone()),
        Err(TicketError::InvalidArgument(_))
    ));
    let pending = ticket(TicketState::PendingReminder);
    let kept = apply(&pending, set_state(TicketState::PendingAutoCloseSuccessful)).unwrap();
    assert_eq!(kept.ticket.pending_until, Some(DUE));
    let same_date = apply(&pending, without).unwrap();
    assert_eq!(same_date.ticket.pending_until, pending.pending_until);
    let dated_open = TicketUpdate {
        pending_until: Some(DUE),
        ..set_state(TicketState::Open)
    };
    assert!(matches!(
        apply(&open, dated_open),
        Err(TicketError::InvalidArgument(_))
    ));
    let reopened = apply(&pending, set_state(TicketState::Open)).unwrap();
    assert_eq!(
        reopened.ticket.pending_until, None,
        "leaving pending drops the date"
    );
}

#[test]
fn merged_is_reached_only_by_merging_and_is_final() {
    let open = ticket(TicketState::Open);
    assert!(matches!(
        apply(&open, set_state(TicketState::Merged)),
        Err(TicketError::InvalidArgument(_))
    ));
    let merged = ticket(TicketState::Merged);
    assert!(matches!(
        apply(&merged, set_state(TicketState::Open)),
        Err(TicketError::Conflict(_))
    ));
}

#[test]
fn a_lock_needs_an_owner_and_closing_unlocks() {
    let open = ticket(TicketState::Open);
    let lock = TicketUpdate {
        locked: Some(true),
        ..TicketUpdate::default()
    };
    assert!(matches!(
        apply(&open, lock),
        Err(TicketError::InvalidArgument(_))
    ));
    let me = AgentId::new();
    let take = TicketUpdate {
        owner: Some(Some(me)),
        locked: Some(true),
        ..TicketUpdate::default()
    };
    let taken = apply(&open, take).unwrap().ticket;
    assert!(taken.locked);
    let closed = apply(&taken, set_state(TicketState::ClosedSuccessful)).unwrap();
    assert!(!closed.ticket.locked, "closing unlocks");
    let released = TicketUpdate {
        owner: Some(None),
        ..TicketUpdate::default()
    };
    assert!(
        !apply(&taken, released).unwrap().ticket.locked,
        "no owner, no lock"
    );
}

#[test]
fn closing_dates_the_close_and_reopening_clears_it() {
    let open = ticket(TicketState::Open);
    let closed = apply(&open, set_state(TicketState::ClosedSuccessful))
        .unwrap()
        .ticket;
    assert_eq!(closed.closed_at, Some(NOW));
    let again = closed.apply(
        &set_state(TicketState::ClosedUnsuccessful),
        &UpdateFacts::default(),
        NOW + 5,
    );
    assert_eq!(
        again.unwrap().ticket.closed_at,
        Some(NOW),
        "closed to closed keeps the date"
    );
    let reopened = apply(&closed, set_state(TicketState::Open)).unwrap().ticket;
    assert_eq!(reopened.closed_at, None);
}

#[test]
fn a_tenants_own_state_behaves_as_its_base() {
    let open = ticket(TicketState::Open);
    let own = TicketUpdate {
        custom_state: Some(" waiting for parts ".into()),
        ..TicketUpdate::default()
    };
    let unknown = apply(&open, own.clone());
    assert!(matches!(
        unknown,
        Err(TicketError::NotFound { kind: "state", .. })
    ));
    let facts = UpdateFacts {
        custom_state_base: Some(TicketState::Open),
        ..UpdateFacts::default()
    };
    let change = open.apply(&own, &facts, NOW).unwrap();
    assert_eq!(
        change.ticket.custom_state.as_deref(),
        Some("waiting for parts")
    );
    assert_eq!(change.ticket.state, TicketState::Open);
    assert_eq!(
        change.fields.len(),
        1,
        "only the own state changed: {:?}",
        change.fields
    );
    let both = TicketUpdate {
        state: Some(TicketState::Open),
        ..own
    };
    assert!(matches!(
        open.apply(&both, &facts, NOW),
        Err(TicketError::InvalidArgument(_))
    ));
    let built_in = change
        .ticket
        .apply(&set_state(TicketState::Open), &facts, NOW)
        .unwrap();
    assert_eq!(
        built_in.ticket.custom_state, None,
        "a built-in state clears the own one"
    );
}

#[test]
fn a_queue_of_another_tenant_is_unknown() {
    let open = ticket(TicketState::Open);
    let to = QueueId::new();
    let moving = TicketUpdate {
        queue_id: Some(to),
        ..TicketUpdate::default()
    };
    let foreign = UpdateFacts {
        target_queue_tenant: Some(TenantId::new()),
        ..UpdateFacts::default()
    };
    assert!(matches!(
        open.apply(&moving, &foreign, NOW),
        Err(TicketError::NotFound { kind: "queue", .. })
    ));
    let own = UpdateFacts {
        target_queue_tenant: Some(open.tenant_id),
        ..UpdateFacts::default()
    };
    assert_eq!(open.apply(&moving, &own, NOW).unwrap().ticket.queue_id, to);
}

#[test]
fn automatic_mail_never_changes_a_state() {
    let action = |s| ticket(s).follow_up(true).map_err(|_| ());
    assert_eq!(
        action(TicketState::Open),
        Ok(Some(FollowUpAction::Continue))
    );
    assert_eq!(
        action(TicketState::PendingReminder),
        Ok(Some(FollowUpAction::Continue))
    );
    assert_eq!(
        action(TicketState::PendingAutoCloseSuccessful),
        Ok(Some(FollowUpAction::Continue))
    );
    assert_eq!(action(TicketState::ClosedUnsuccessful), Ok(None));
    assert_eq!(action(TicketState::Merged), Err(()));
    let closed = ticket(TicketState::ClosedSuccessful);
    let queue = |follow_up, automatic_mail| Queue {
        id: closed.queue_id,
        tenant_id: closed.tenant_id,
        name: "Q".into(),
        parent_id: None,
        group_id: None,
        portal: false,
        signature: String::new(),
        follow_up,
        automatic_mail,
        addresses: Vec::new(),
        created_at: 0,
        version: 1,
    };
    for follow_up in FollowUp::ALL.iter().copied() {
        let by_policy = follow_up.for_closed(&closed).map_err(|_| ());
        let noting = queue(follow_up, AutomaticMail::Note);
        assert_eq!(
            noting.for_closed(&closed, true).map_err(|_| ()),
            Ok(FollowUpAction::Note),
            "{follow_up}"
        );
        assert_eq!(noting.for_closed(&closed, false).map_err(|_| ()), by_policy);
        let replying = queue(follow_up, AutomaticMail::FollowUp);
        assert_eq!(
            replying.for_closed(&closed, true).map_err(|_| ()),
            by_policy
        );
    }
}

#[test]
fn what_a_customers_reply_does() {
    let action = |s| ticket(s).follow_up(false).map_err(|_| ());
    assert_eq!(action(TicketState::New), Ok(Some(FollowUpAction::Continue)));
    assert_eq!(
        action(TicketState::Open),
        Ok(Some(FollowUpAction::Continue))
    );
    assert_eq!(
        action(TicketState::PendingReminder),
        Ok(Some(FollowUpAction::Reopen))
    );
    assert_eq!(
        action(TicketState::PendingAutoCloseUnsuccessful),
        Ok(Some(FollowUpAction::Reopen))
    );
    assert_eq!(action(TicketState::ClosedSuccessful), Ok(None));
    assert_eq!(action(TicketState::Merged), Err(()));
    assert_eq!(action(TicketState::Removed), Err(()));
    let closed = ticket(TicketState::ClosedSuccessful);
    assert_eq!(
        FollowUp::Reopen.for_closed(&closed).unwrap(),
        FollowUpAction::Reopen
    );
    assert_eq!(
        FollowUp::NewTicket.for_closed(&closed).unwrap(),
        FollowUpAction::NewTicket
    );
    assert!(matches!(
        FollowUp::Reject.for_closed(&closed),
        Err(TicketError::Conflict(_))
    ));
    let article =
        NewArticle::parse(SenderType::Customer, Channel::Email, true, "re", "again").unwrap();
    let next = closed.follow_up_ticket(article);
    assert_eq!(
        (next.queue_id, &next.title, next.priority),
        (closed.queue_id, &closed.title, closed.priority)
    );
    assert!(next.article.is_some() && next.parent_id.is_none());
}

#[test]
fn customers_close_open_requests_and_reopen_where_the_queue_allows() {
    let open = ticket(TicketState::Open);
    let closed = ticket(TicketState::ClosedSuccessful);
    let close = set_state(TicketState::ClosedSuccessful);
    let reopen = set_state(TicketState::Open);
    assert!(open.customer_may_change(FollowUp::Reject, &close).is_ok());
    assert!(
        closed
            .customer_may_change(FollowUp::Reopen, &reopen)
            .is_ok()
    );
    let denied = |r: Result<(), TicketError>| matches!(r, Err(TicketError::PermissionDenied(_)));
    assert!(denied(
        closed.customer_may_change(FollowUp::NewTicket, &reopen)
    ));
    assert!(denied(open.customer_may_change(
        FollowUp::Reopen,
        &set_state(TicketState::ClosedUnsuccessful)
    )));
    assert!(denied(
        ticket(TicketState::Merged).customer_may_change(FollowUp::Reopen, &close)
    ));
    let more = TicketUpdate {
        priority: Some(Priority::new(5).unwrap()),
        ..close
    };
    assert!(
        denied(open.customer_may_change(FollowUp::Reopen, &more)),
        "only the state"
    );
}

#[test]
fn merging_needs_two_live_tickets_of_one_tenant() {
    let a = ticket(TicketState::Open);
    let mut b = ticket(TicketState::New);
    b.tenant_id = a.tenant_id;
    assert!(a.check_merge_into(&b).is_ok());
    assert!(matches!(
        a.check_merge_into(&a),
        Err(TicketError::InvalidArgument(_))
    ));
    let foreign = ticket(TicketState::Open);
    assert!(matches!(
        a.check_merge_into(&foreign),
        Err(TicketError::NotFound { .. })
    ));
    let mut removed = ticket(TicketState::Removed);
    removed.tenant_id = a.tenant_id;
    assert!(matches!(
        a.check_merge_into(&removed),
        Err(TicketError::Conflict(_))
    ));
    let merged = a.merged_into(b.id, NOW);
    assert_eq!(
        (merged.state, merged.merged_into, merged.locked),
        (TicketState::Merged, Some(b.id), false)
    );
    assert_eq!(
        (merged.pending_until, merged.version),
        (None, a.version + 1)
    );
}

#[test]
fn links_form_a_tree_within_a_tenant() {
    let parent = ticket(TicketState::Open);
    let mut child = ticket(TicketState::Open);
    child.tenant_id = parent.tenant_id;
    assert!(
        parent
            .check_link(&child, LinkKind::ParentChild, &[])
            .is_ok()
    );
    assert!(matches!(
        parent.check_link(&parent, LinkKind::Related, &[]),
        Err(TicketError::InvalidArgument(_))
    ));
    let cycle = parent.check_link(&child, LinkKind::ParentChild, &[TicketId::new(), child.id]);
    assert!(matches!(cycle, Err(TicketError::Conflict(_))));
    assert!(
        parent
            .check_link(&child, LinkKind::Related, &[child.id])
            .is_ok(),
        "related links may go anywhere"
    );
    let foreign = ticket(TicketState::Open);
    assert!(matches!(
        parent.check_link(&foreign, LinkKind::Related, &[]),
        Err(TicketError::NotFound { .. })
    ));
    let (x, y) = (parent.id, child.id);
    assert_eq!(LinkKind::Related.key(x, y), LinkKind::Related.key(y, x));
    assert_eq!(
        LinkKind::ParentChild.key(y, x),
        (y, x),
        "the parent stays first"
    );
}

fn any_state() -> impl Strategy<Value = TicketState> {
    proptest::sample::select(TicketState::ALL.to_vec())
}

prop_compose! {
    fn any_update()(
        state in proptest::option::of(any_state()),
        dated in any::<bool>(),
        locked in proptest::option::of(any::<bool>()),
        owner in proptest::option::of(proptest::option::of(Just(()))),
        priority in proptest::option::of(1_i64..=5),
        version_ok in proptest::option::of(any::<bool>()),
    ) -> (TicketUpdate, Option<bool>) {
        let update = TicketUpdate {
            state,
            pending_until: dated.then_some(DUE),
            locked,
            owner: owner.map(|o| o.map(|()| AgentId::new())),
            priority: priority.map(|p| Priority::new(p).unwrap()),
            ..TicketUpdate::default()
        };
        (update, version_ok)
    }
}

proptest! {
    /// Whatever is asked of whichever ticket, what `apply` gives keeps the ticket's
    /// invariants, and a change is exactly one version further.
    #[test]
    fn every_accepted_change_keeps_the_invariants(
        start in any_state(),
        owned in any::<bool>(),
        locked in any::<bool>(),
        (mut update, version_ok) in any_update(),
    ) {
        let mut t = ticket(start);
        t.owner_id = owned.then(AgentId::new);
        t.locked = locked && owned && !start.is_final();
        update.expected_version = version_ok.map(|ok| if ok { t.version } else { t.version + 1 });
        match apply(&t, update) {
            Ok(change) => {
                let next = &change.ticket;
                prop_assert_eq!(next.pending_until.is_some(), next.state.is_pending());
                prop_assert!(!next.locked || (next.owner_id.is_some() && !next.state.is_final()));
                prop_assert_eq!(next.closed_at.is_some(), next.state.state_type() == StateType::Closed);
                prop_assert!(next.state != TicketState::Merged || start == TicketState::Merged);
                if change.is_empty() {
                    prop_assert_eq!(next, &t);
                } else {
                    prop_assert_eq!(next.version, t.version + 1);
                    prop_assert_eq!(next.updated_at, NOW);
                }
                prop_assert_eq!(version_ok, version_ok.filter(|ok| *ok), "a stale version never applies");
            }
            Err(TicketError::Conflict(_) | TicketError::InvalidArgument(_)) => {}
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }
}

#[test]
fn touching_a_ticket_makes_its_next_version_and_changes_nothing_else() {
    let t = ticket(TicketState::Open);
    let next = t.touched(t.updated_at + 5);
    assert_eq!(next.version, t.version + 1);
    assert_eq!(next.updated_at, t.updated_at + 5);
    assert_eq!(
        Ticket {
            version: t.version,
            updated_at: t.updated_at,
            ..next
        },
        t
    );
}
