//! Conversions between the protobuf messages of `docket.ticket.v1` and the domain values.

use super::*;

pub(super) fn parse_id<T: std::str::FromStr<Err = docket_platform::id::InvalidId>>(
    s: &str,
) -> Result<T, TicketError> {
    Ok(s.parse::<T>()?)
}

/// A domain vocabulary carried as a protobuf enum: mapped variant by variant both ways, so a
/// value added on either side does not compile until it is mapped.
pub(super) trait Wire: Sized {
    type Pb: Into<i32>;

    fn to_pb(self) -> Self::Pb;

    /// The domain value of a protobuf number; `UNSPECIFIED` and unknown numbers are invalid.
    fn from_pb(value: i32) -> Result<Self, TicketError>;
}

macro_rules! wire_enum {
    ($domain:ident => $pb:ident, $what:literal { $($variant:ident),+ $(,)? }) => {
        impl Wire for $domain {
            type Pb = pb::$pb;

            fn to_pb(self) -> pb::$pb {
                match self {
                    $($domain::$variant => pb::$pb::$variant),+
                }
            }

            fn from_pb(value: i32) -> Result<Self, TicketError> {
                match pb::$pb::try_from(value) {
                    $(Ok(pb::$pb::$variant) => Ok($domain::$variant),)+
                    Ok(pb::$pb::Unspecified) | Err(_) => Err(TicketError::invalid(format!(
                        "{} {value} is not valid; give one of {}",
                        $what,
                        $domain::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                    ))),
                }
            }
        }
    };
}

wire_enum!(TicketState => TicketState, "ticket state" {
    New,
    Open,
    PendingReminder,
    PendingAutoCloseSuccessful,
    PendingAutoCloseUnsuccessful,
    ClosedSuccessful,
    ClosedUnsuccessful,
    Merged,
    Removed,
});
wire_enum!(StateType => StateType, "state type" {
    New,
    Open,
    PendingReminder,
    PendingAuto,
    Closed,
    Merged,
    Removed,
});
wire_enum!(SenderType => SenderType, "article sender" { Customer, Agent, System });
wire_enum!(Channel => Channel, "article channel" { Email, Phone, Portal, Note });
wire_enum!(FollowUp => FollowUp, "follow-up policy" { Reopen, NewTicket, Reject });
wire_enum!(TemplateKind => TemplateKind, "template kind" { Answer, Acceptance, Note });
wire_enum!(FieldKind => FieldKind, "field kind" {
    Text,
    Number,
    Date,
    SingleSelect,
    MultiSelect,
    Checkbox,
});
wire_enum!(AutomaticMail => AutomaticMail, "automatic-mail policy" { Note, FollowUp });

pub(super) fn new_article_from_pb(a: pb::NewArticle) -> Result<NewArticle, TicketError> {
    NewArticle::parse(
        SenderType::from_pb(a.sender)?,
        Channel::from_pb(a.channel)?,
        a.visible_to_customer,
        &a.subject,
        &a.body,
    )?
    .with_time(a.time_minutes)?
    .with_attachments(attachments_from_pb(a.attachments)?)?
    .with_idempotency_key(&a.idempotency_key)
    .map(|article| NewArticle {
        automatic: a.automatic,
        ..article
    })
}

pub(super) fn attachments_from_pb(
    list: Vec<pb::NewAttachment>,
) -> Result<Vec<NewAttachment>, TicketError> {
    list.into_iter()
        .map(|a| NewAttachment::parse(&a.filename, &a.content_type, a.content))
        .collect()
}

/// What a customer writes: a portal article with their attachments, no time accounting.
pub(super) fn customer_article_from_pb(a: pb::NewArticle) -> Result<NewArticle, TicketError> {
    NewArticle::parse(
        SenderType::Customer,
        Channel::Portal,
        true,
        &a.subject,
        &a.body,
    )?
    .with_attachments(attachments_from_pb(a.attachments)?)
}

pub(super) fn attachment_to_pb(a: Attachment) -> pb::Attachment {
    pb::Attachment {
        id: a.id.to_string(),
        filename: a.filename,
        content_type: a.content_type,
        declared_type: a.declared_type,
        size: a.size,
        sha256: a.sha256,
    }
}

pub fn ticket_to_pb(t: Ticket) -> pb::Ticket {
    pb::Ticket {
        id: t.id.to_string(),
        tenant_id: t.tenant_id.to_string(),
        number: t.number.to_string(),
        queue_id: t.queue_id.to_string(),
        title: t.title,
        state: i32::from(t.state.to_pb()),
        priority: u32::from(t.priority.get()),
        owner_id: opt_text(t.owner_id),
        customer: t.customer.unwrap_or_default(),
        created_at_us: t.created_at,
        updated_at_us: t.updated_at,
        version: t.version,
        customer_id: opt_text(t.customer_id),
        company_id: opt_text(t.company_id),
        type_id: opt_text(t.type_id),
        service_id: opt_text(t.service_id),
        responsible_id: opt_text(t.responsible_id),
        desired_at_us: t.desired_at.unwrap_or_default(),
        target_at_us: t.target_at.unwrap_or_default(),
        closed_at_us: t.closed_at.unwrap_or_default(),
        merged_into: opt_text(t.merged_into),
        tags: Vec::new(),
        fields: Vec::new(),
        contact: Some(pb::Contact {
            name: t.contact.name,
            email: t.contact.email,
            phone: t.contact.phone,
            organisation: t.contact.organisation,
        }),
        time_minutes: t.time_minutes,
        legal_hold: t.legal_hold,
        retention_objection: t.retention_objection,
        custom_state: t.custom_state.unwrap_or_default(),
        state_type: i32::from(t.state.state_type().to_pb()),
        pending_until_us: t.pending_until.unwrap_or_default(),
        locked: t.locked,
        actions: None,
    }
}

pub(super) fn article_to_pb(a: Article) -> pb::Article {
    pb::Article {
        id: a.id.to_string(),
        ticket_id: a.ticket_id.to_string(),
        sender: a.sender.to_pb().into(),
        channel: a.channel.to_pb().into(),
        visible_to_customer: a.visible_to_customer,
        subject: a.subject,
        body: a.body,
        author: a.author,
        created_at_us: a.created_at,
        attachments: a.attachments.into_iter().map(attachment_to_pb).collect(),
        time_minutes: a.time_minutes,
        delivery: a.delivery.map(delivery_to_pb),
    }
}

pub(super) fn delivery_to_pb(d: Delivery) -> pb::Delivery {
    pb::Delivery {
        state: d.state.as_str().to_owned(),
        attempts: d.attempts,
        detail: d.detail,
        message_id: d.message_id,
        to: d.to,
        updated_at_us: d.updated_at,
    }
}

pub(super) fn delivery_from_pb(d: pb::Delivery) -> Result<Delivery, TicketError> {
    Ok(Delivery {
        state: d.state.trim().parse()?,
        attempts: d.attempts,
        detail: d.detail.chars().take(2000).collect(),
        message_id: d.message_id.chars().take(500).collect(),
        to: d.to.into_iter().take(100).collect(),
        updated_at: docket_platform::time::now_micros(),
    })
}

pub(super) fn tenant_to_pb(t: Tenant) -> pb::Tenant {
    pb::Tenant {
        id: t.id.to_string(),
        slug: t.slug,
        name: t.name,
        created_at_us: t.created_at,
    }
}

pub(super) fn queue_to_pb(q: Queue) -> pb::Queue {
    pb::Queue {
        id: q.id.to_string(),
        tenant_id: q.tenant_id.to_string(),
        name: q.name,
        created_at_us: q.created_at,
        group_id: opt_text(q.group_id),
        portal: q.portal,
        parent_id: opt_text(q.parent_id),
        signature: q.signature,
        follow_up: q.follow_up.to_pb().into(),
        automatic_mail: q.automatic_mail.to_pb().into(),
        addresses: q.addresses.into_iter().map(String::from).collect(),
        version: q.version,
    }
}

pub(super) fn addresses_from_pb(list: &[String]) -> Result<Vec<EmailAddress>, TicketError> {
    list.iter().map(|a| EmailAddress::parse(a)).collect()
}

pub(super) fn entry_to_pb(e: CatalogueEntry) -> pb::CatalogueEntry {
    pb::CatalogueEntry {
        id: e.id.to_string(),
        tenant_id: e.tenant_id.to_string(),
        name: e.name,
        parent_id: opt_text(e.parent_id),
        created_at_us: e.created_at,
        portal: e.portal,
    }
}

/// A time a caller gives: in the years 1970 to 9999, what every store and RFC 3339 can give back
/// (`docket_platform::time::is_sane`); otherwise the field is named.
pub(super) fn time_field(field: &str, us: i64) -> Result<i64, TicketError> {
    if docket_platform::time::is_sane(us) {
        Ok(us)
    } else {
        Err(TicketError::invalid(format!(
            "`{field}` must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z"
        )))
    }
}

/// An optional time (0: none) a caller gives, checked as [`time_field`].
pub(super) fn optional_time(field: &str, us: i64) -> Result<Option<i64>, TicketError> {
    (us != 0).then(|| time_field(field, us)).transpose()
}

/// Most tickets one bulk update changes.
pub const MAX_BULK: usize = 500;

/// The fields of an update, parsed (the ticket id and expected version aside).
pub(super) fn update_from_pb(r: &pb::UpdateTicketRequest) -> Result<TicketUpdate, TicketError> {
    let update = TicketUpdate {
        expected_version: r.expected_version,
        state: r.state.map(TicketState::from_pb).transpose()?,
        pending_until: r
            .pending_until_us
            .map(|at| time_field("pending_until", at))
            .transpose()?,
        locked: r.locked,
        priority: r
            .priority
            .map(|p| Priority::new(i64::from(p)))
            .transpose()?,
        owner: r.owner_id.as_deref().map(optional_id).transpose()?,
        queue_id: r.queue_id.as_deref().map(parse_id).transpose()?,
        type_id: r.type_id.as_deref().map(optional_id).transpose()?,
        service_id: r.service_id.as_deref().map(optional_id).transpose()?,
        responsible: r.responsible_id.as_deref().map(optional_id).transpose()?,
        desired_at: r
            .desired_at_us
            .map(|at| optional_time("desired_at", at))
            .transpose()?,
        target_at: r
            .target_at_us
            .map(|at| optional_time("target_at", at))
            .transpose()?,
        contact: r.contact.as_ref().map(contact_from_pb).transpose()?,
        custom_state: r.custom_state.clone(),
    };
    if update.is_empty() {
        return Err(TicketError::invalid(
            "the update changes nothing: give state, pending_until, locked, priority, owner_id, queue_id, type_id or service_id",
        ));
    }
    Ok(update)
}

pub(super) fn custom_state_to_pb(c: CustomState) -> pb::CustomState {
    pb::CustomState {
        id: c.id.to_string(),
        tenant_id: c.tenant_id.to_string(),
        name: c.name,
        base: i32::from(c.base.to_pb()),
        base_state_type: i32::from(c.base.state_type().to_pb()),
        created_at_us: c.created_at,
    }
}

pub(super) fn policy_to_pb(tenant_id: TenantId, p: RetentionPolicy) -> pb::RetentionPolicy {
    pb::RetentionPolicy {
        tenant_id: tenant_id.to_string(),
        days: p.days,
        action: p.action.as_str().to_owned(),
    }
}

pub(super) fn run_to_pb(r: RetentionRun) -> pb::RetentionRun {
    pb::RetentionRun {
        id: r.id.to_string(),
        started_at_us: r.started_at,
        finished_at_us: r.finished_at,
        actor: r.actor,
        deleted: r.deleted,
        anonymised: r.anonymised,
        kept: r.kept,
        dry_run: r.dry_run,
    }
}

pub(super) fn template_to_pb(t: Template) -> pb::Template {
    pb::Template {
        id: t.id.to_string(),
        tenant_id: t.tenant_id.to_string(),
        name: t.name,
        kind: t.kind.to_pb().into(),
        subject: t.subject,
        body: t.body,
        queue_ids: t.queue_ids.iter().map(ToString::to_string).collect(),
        created_at_us: t.created_at,
        language: t.language,
    }
}

pub(super) fn contact_from_pb(c: &pb::Contact) -> Result<Contact, TicketError> {
    Contact::parse(&c.name, &c.email, &c.phone, &c.organisation)
}

pub(super) fn field_to_pb(f: FieldDefinition) -> pb::CustomField {
    pb::CustomField {
        id: f.id.to_string(),
        tenant_id: f.tenant_id.to_string(),
        key: f.key,
        label: f.label,
        kind: f.kind.to_pb().into(),
        options: f.options,
        queue_ids: f.queue_ids.iter().map(ToString::to_string).collect(),
        created_at_us: f.created_at,
    }
}

pub(super) fn field_value_to_pb(v: FieldValue) -> pb::FieldValue {
    pb::FieldValue {
        key: v.key,
        values: v.values,
    }
}

pub(super) fn sort_from_pb(value: i32) -> Result<Option<SortField>, TicketError> {
    match pb::SortField::try_from(value) {
        Ok(pb::SortField::Unspecified) => Ok(None),
        Ok(pb::SortField::CreatedAt) => Ok(Some(SortField::CreatedAt)),
        Ok(pb::SortField::UpdatedAt) => Ok(Some(SortField::UpdatedAt)),
        Ok(pb::SortField::Priority) => Ok(Some(SortField::Priority)),
        Err(_) => Err(TicketError::invalid("unknown sort field")),
    }
}

pub(super) fn sort_to_pb(sort: SortField) -> pb::SortField {
    match sort {
        SortField::CreatedAt => pb::SortField::CreatedAt,
        SortField::UpdatedAt => pb::SortField::UpdatedAt,
        SortField::Priority => pb::SortField::Priority,
    }
}

pub(super) fn ids_from_pb<T: std::str::FromStr<Err = docket_platform::id::InvalidId>>(
    values: &[String],
) -> Result<Vec<T>, TicketError> {
    values.iter().map(|v| parse_id(v)).collect()
}

pub(super) fn range_from_pb(from: i64, until: i64) -> TimeRange {
    TimeRange {
        from: (from != 0).then_some(from),
        until: (until != 0).then_some(until),
    }
}

pub(super) fn filter_from_pb(f: pb::TicketFilter) -> Result<TicketFilter, TicketError> {
    let filter = TicketFilter {
        text: (!f.text.trim().is_empty())
            .then(|| FullText::parse(&f.text))
            .transpose()?,
        queue_ids: ids_from_pb(&f.queue_ids)?,
        states: f
            .states
            .iter()
            .map(|s| TicketState::from_pb(*s))
            .collect::<Result<_, _>>()?,
        state_types: f
            .state_types
            .iter()
            .map(|s| StateType::from_pb(*s))
            .chain(
                f.worked_on
                    .then_some(StateType::WORKED_ON.map(Ok))
                    .into_iter()
                    .flatten(),
            )
            .collect::<Result<_, _>>()?,
        custom_states: f
            .custom_states
            .iter()
            .map(|s| s.trim().to_owned())
            .collect(),
        priorities: f
            .priorities
            .iter()
            .map(|p| Priority::new(i64::from(*p)))
            .collect::<Result<_, _>>()?,
        owner_id: optional_id(&f.owner_id)?,
        responsible_id: optional_id(&f.responsible_id)?,
        locked: f.locked,
        service_ids: ids_from_pb(&f.service_ids)?,
        type_ids: ids_from_pb(&f.type_ids)?,
        customer_id: optional_id(&f.customer_id)?,
        customer: (!f.customer.trim().is_empty()).then(|| f.customer.trim().to_owned()),
        company_id: optional_id(&f.company_id)?,
        watched_by: optional_id(&f.watched_by)?,
        collaborator: optional_id(&f.collaborator)?,
        created: range_from_pb(f.created_from_us, f.created_until_us),
        changed: range_from_pb(f.changed_from_us, f.changed_until_us),
        closed: range_from_pb(f.closed_from_us, f.closed_until_us),
        tags: f
            .tags
            .iter()
            .map(|t| Tag::parse(t))
            .collect::<Result<_, _>>()?,
        fields: f
            .fields
            .into_iter()
            .map(|m| FieldMatch {
                key: m.key,
                value: m.value,
            })
            .collect(),
    };
    filter.check()?;
    Ok(filter)
}

pub(super) fn filter_to_pb(f: TicketFilter) -> pb::TicketFilter {
    pb::TicketFilter {
        text: f.text.map(String::from).unwrap_or_default(),
        queue_ids: f.queue_ids.iter().map(ToString::to_string).collect(),
        states: f.states.iter().map(|s| i32::from(s.to_pb())).collect(),
        state_types: f.state_types.iter().map(|t| i32::from(t.to_pb())).collect(),
        // The domain's filter names its state types one by one.
        worked_on: false,
        custom_states: f.custom_states,
        priorities: f.priorities.iter().map(|p| u32::from(p.get())).collect(),
        owner_id: opt_text(f.owner_id),
        responsible_id: opt_text(f.responsible_id),
        locked: f.locked,
        service_ids: f.service_ids.iter().map(ToString::to_string).collect(),
        type_ids: f.type_ids.iter().map(ToString::to_string).collect(),
        customer_id: opt_text(f.customer_id),
        customer: f.customer.unwrap_or_default(),
        company_id: opt_text(f.company_id),
        watched_by: opt_text(f.watched_by),
        collaborator: opt_text(f.collaborator),
        created_from_us: f.created.from.unwrap_or_default(),
        created_until_us: f.created.until.unwrap_or_default(),
        changed_from_us: f.changed.from.unwrap_or_default(),
        changed_until_us: f.changed.until.unwrap_or_default(),
        closed_from_us: f.closed.from.unwrap_or_default(),
        closed_until_us: f.closed.until.unwrap_or_default(),
        tags: f.tags.into_iter().map(String::from).collect(),
        fields: f
            .fields
            .into_iter()
            .map(|m| pb::FieldMatch {
                key: m.key,
                value: m.value,
            })
            .collect(),
    }
}

/// An optional id from protobuf text: empty for none.
pub(super) fn optional_id<T: std::str::FromStr<Err = docket_platform::id::InvalidId>>(
    s: &str,
) -> Result<Option<T>, TicketError> {
    if s.trim().is_empty() {
        Ok(None)
    } else {
        parse_id(s).map(Some)
    }
}

pub(super) fn priority_from_pb(p: u32) -> Result<Option<Priority>, TicketError> {
    if p == 0 {
        Ok(None)
    } else {
        Priority::new(i64::from(p)).map(Some)
    }
}

pub(super) fn actions_to_pb(a: crate::access::TicketActions) -> pb::TicketActions {
    pb::TicketActions {
        pending_states: a
            .states
            .iter()
            .filter(|s| s.is_pending())
            .map(|s| i32::from(s.to_pb()))
            .collect(),
        states: a.states.into_iter().map(|s| i32::from(s.to_pb())).collect(),
        reply: a.reply,
        note: a.note,
        take: a.take,
        unlock: a.unlock,
        assign: a.assign,
        classify: a.classify,
        move_queue: a.move_queue,
        plan: a.plan,
        work: a.work,
        watch: a.watch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_outside_the_years_1970_to_9999_are_refused_naming_the_field() {
        let year_minus_1000 = -93_755_347_200_000_000;
        let update = |r: pb::UpdateTicketRequest| update_from_pb(&r).map(|_| ()).unwrap_err();
        let err = update(pb::UpdateTicketRequest {
            target_at_us: Some(year_minus_1000),
            ..Default::default()
        });
        assert!(
            err.to_string().contains("`target_at` must be between"),
            "{err}"
        );
        let err = update(pb::UpdateTicketRequest {
            pending_until_us: Some(docket_platform::time::LATEST_MICROS + 1),
            ..Default::default()
        });
        assert!(err.to_string().contains("`pending_until`"), "{err}");
        assert_eq!(optional_time("desired_at", 0).ok(), Some(None));
        assert_eq!(optional_time("desired_at", 1).ok(), Some(Some(1)));
    }
}
