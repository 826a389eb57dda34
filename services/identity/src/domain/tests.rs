use super::*;

#[test]
fn logins_are_case_insensitive_and_bounded() {
    assert_eq!(Login::parse("  Jane.Doe ").unwrap().as_str(), "jane.doe");
    for bad in ["", "a b", "x\u{0}", &"x".repeat(201)] {
        assert!(Login::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn passwords_follow_the_policy_and_never_print() {
    assert!(NewPassword::parse("short").is_err());
    let p = NewPassword::parse("long enough pass").unwrap();
    assert_eq!(format!("{p:?}"), "NewPassword(***)");
    assert!(NewPassword::parse(&"x".repeat(1025)).is_err());
}

#[test]
fn permissions_round_trip_through_storage() {
    let set = PermSet::of(&[Permission::Ro, Permission::Owner]);
    assert_eq!(parse_permissions(&format_permissions(set)).unwrap(), set);
    assert!(parse_permissions("ro,sudo").is_err());
    assert_eq!(parse_permissions("").unwrap(), PermSet::NONE);
}

#[test]
fn audit_cursors_round_trip_and_refuse_garbage() {
    let c = AuditCursor {
        occurred_at: 1_700_000_000_000_000,
        id: AbsenceId::new().to_string(),
    };
    assert_eq!(AuditCursor::parse(&c.encode()).unwrap(), c);
    for bad in ["", "x", "12", "12.", "a.b", "12.x y", "12.';--"] {
        assert!(AuditCursor::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn optional_fields_and_permission_names() {
    assert_eq!(optional_email(" ").unwrap(), None);
    assert_eq!(
        optional_email(" jane@uni.example ").unwrap().as_deref(),
        Some("jane@uni.example")
    );
    for bad in ["jane", "@uni", "jane@", "ja ne@uni", "a@b@c"] {
        assert!(optional_email(bad).is_err(), "{bad:?}");
    }
    assert!(optional_text("phone", &"1".repeat(41), 40).is_err());
    let names = vec!["ro".to_owned(), " note ".to_owned()];
    assert_eq!(
        permissions_from_names(&names).unwrap(),
        PermSet::of(&[Permission::Ro, Permission::Note])
    );
    let err = permissions_from_names(&["sudo".to_owned()]).unwrap_err();
    assert!(
        err.to_string().contains("`sudo` is not a permission"),
        "{err}"
    );
    assert_eq!(permissions_from_names(&[]).unwrap(), PermSet::NONE);
}

const MINUTE: Micros = 60 * 1_000_000;

#[test]
fn the_fifth_failure_within_the_window_locks() {
    let t0 = 1_700_000_000_000_000;
    let mut record = None;
    for i in 0..Throttle::MAX_FAILURES - 1 {
        record = Throttle::after_failure(record.as_ref(), t0 + i * MINUTE);
        let r = record.unwrap();
        assert_eq!(
            (r.failures, r.window_started_at, r.locked_until),
            (i + 1, t0, None)
        );
    }
    let fifth = t0 + Throttle::WINDOW - 1;
    let locked = Throttle::after_failure(record.as_ref(), fifth).unwrap();
    assert_eq!(
        locked,
        ThrottleRecord {
            failures: 0,
            window_started_at: fifth,
            locked_until: Some(fifth + Throttle::LOCKOUT),
        }
    );
    // During the lockout nothing changes; at its end the count starts again.
    let until = fifth + Throttle::LOCKOUT;
    assert_eq!(Throttle::after_failure(Some(&locked), until - 1), None);
    assert_eq!(
        Throttle::in_force(locked.locked_until, until - 1),
        Some(until)
    );
    assert_eq!(Throttle::in_force(locked.locked_until, until), None);
    let after = Throttle::after_failure(Some(&locked), until).unwrap();
    assert_eq!((after.failures, after.locked_until), (1, None));
}

#[test]
fn failures_outside_the_window_start_a_new_one() {
    let t0 = 1_700_000_000_000_000;
    let first = Throttle::after_failure(None, t0).unwrap();
    let late = Throttle::after_failure(Some(&first), t0 + Throttle::WINDOW).unwrap();
    assert_eq!(
        late,
        ThrottleRecord {
            failures: 1,
            window_started_at: t0 + Throttle::WINDOW,
            locked_until: None,
        }
    );
}

fn customer() -> Customer {
    Customer {
        id: CustomerId::new(),
        tenant_id: TenantId::new(),
        login: Login::parse("jane").unwrap(),
        name: "Jane".into(),
        email: None,
        phone: Some("123".into()),
        company_id: None,
        company_tickets: false,
        source: Source::Local,
        language: None,
        active: true,
    }
}

#[test]
fn a_customer_update_keeps_who_the_customer_is_and_names_what_changed() {
    let before = customer();
    let update = CustomerUpdate {
        name: "  Jane Doe ".into(),
        email: Some("jane@uni.example".into()),
        phone: Some("123".into()),
        company_id: None,
        company_tickets: false,
        language: None,
        active: false,
        password: None,
    };
    let after = update.apply_to(&before).unwrap();
    assert_eq!((after.id, after.tenant_id), (before.id, before.tenant_id));
    assert_eq!((&after.login, after.source), (&before.login, before.source));
    assert_eq!(after.name, "Jane Doe");
    assert_eq!(
        before.changed_details(&after, true),
        ["name", "email", "active", "password"]
    );
    assert!(before.changed_details(&before, false).is_empty());
    let nameless = CustomerUpdate {
        name: " ".into(),
        ..update
    };
    assert!(nameless.apply_to(&before).is_err());
}

#[test]
fn company_tickets_need_a_company() {
    let company = Some(CompanyId::new());
    assert!(Customer::check_company_tickets(None, true).is_err());
    assert!(Customer::check_company_tickets(None, false).is_ok());
    assert!(Customer::check_company_tickets(company, true).is_ok());
    let seeing = Customer {
        company_id: company,
        company_tickets: true,
        ..customer()
    };
    // Unchanged while in a company; leaving it ends it; asking for it without one fails.
    assert!(seeing.company_tickets_with(company, None).unwrap());
    assert!(!seeing.company_tickets_with(None, None).unwrap());
    assert!(seeing.company_tickets_with(None, Some(true)).is_err());
    assert!(!seeing.company_tickets_with(company, Some(false)).unwrap());
}

#[test]
fn only_local_customers_change_their_password_here() {
    assert!(customer().check_password_change().is_ok());
    let ldap = Customer {
        source: Source::Ldap,
        ..customer()
    };
    assert!(ldap.check_password_change().is_err());
}

#[test]
fn local_agents_need_a_password() {
    let agent = NewAgent {
        login: Login::parse("jane").unwrap(),
        name: "Jane".into(),
        email: None,
        password: None,
    };
    assert!(agent.check_source(Source::Local).is_err());
    assert!(agent.check_source(Source::Ldap).is_ok());
    let with_password = NewAgent {
        password: Some(NewPassword::parse("long enough pass").unwrap()),
        ..agent
    };
    assert!(with_password.check_source(Source::Local).is_ok());
}

#[test]
fn absences_end_after_they_start_and_need_someone_else() {
    let (a, b) = (AgentId::new(), AgentId::new());
    let absence = Absence::new(a, b, 10, 20).unwrap();
    assert_eq!((absence.agent_id, absence.substitute_id), (a, b));
    assert!(Absence::new(a, b, 20, 20).is_err());
    assert!(Absence::new(a, a, 10, 20).is_err());
}

#[test]
fn grants_merge_within_the_agents_tenants_only() {
    let (mine, other) = (TenantId::new(), TenantId::new());
    let (group, foreign_group) = (GroupId::new(), GroupId::new());
    let absent = AgentId::new();
    let facts = AccessFacts {
        tenants: vec![mine],
        admin_of: vec![mine, other],
        permissions: vec![
            (mine, group, PermSet::of(&[Permission::Ro])),
            (mine, group, PermSet::of(&[Permission::Note])),
            (other, foreign_group, PermSet::of(&[Permission::Rw])),
        ],
        standing_in_for: vec![(absent, mine), (absent, mine), (AgentId::new(), other)],
    };
    let grants = facts.grants();
    assert_eq!(grants.tenants.len(), 1);
    let t = &grants.tenants[&mine.to_string()];
    assert!(t.admin);
    assert_eq!(
        t.groups[&group.to_string()],
        PermSet::of(&[Permission::Ro, Permission::Note])
    );
    assert_eq!(t.groups.len(), 1);
    assert_eq!(t.substitute_for, [absent.to_string()]);
}

#[test]
fn audit_pages_hold_one_to_a_thousand_entries() {
    assert_eq!(AuditPage::entries_for(0), 1);
    assert_eq!(AuditPage::entries_for(50), 50);
    assert_eq!(AuditPage::entries_for(i64::MAX), AuditPage::MAX_ENTRIES);
}

#[test]
fn templates_only_grant_default_groups() {
    for t in &ROLE_TEMPLATES {
        for (group, _) in t.grants {
            assert!(
                DEFAULT_GROUPS.contains(group),
                "{} grants on {group}",
                t.name
            );
        }
    }
}
