//! Every text of the portal and the desk, in German and English. One line per text keeps the
//! two languages side by side; the templates name the fields, so a missing text does not compile.

use docket_proto::ticket::v1::StateType;

macro_rules! texts {
    ($($key:ident: $de:expr, $en:expr;)*) => {
        /// The pages' texts in one language.
        pub struct Texts {
            /// The language's code, as in `<html lang>`.
            pub lang: &'static str,
            $(pub $key: &'static str,)*
        }

        pub const DE: Texts = Texts { lang: "de", $($key: $de,)* };
        pub const EN: Texts = Texts { lang: "en", $($key: $en,)* };
    };
}

texts! {
    language: "Sprache", "Language";
    skip: "Zum Inhalt springen", "Skip to content";
    login_title: "Anmelden", "Sign in";
    desk_login_title: "Anmelden am Agenten-Arbeitsplatz", "Sign in to the agent desk";
    tenant: "Einrichtung", "Organisation";
    login: "Benutzername", "User name";
    password: "Passwort", "Password";
    totp_code: "Einmalcode (falls eingerichtet)", "One-time code (if set up)";
    sign_in: "Anmelden", "Sign in";
    sign_out: "Abmelden", "Sign out";
    login_failed: "Die Anmeldung ist fehlgeschlagen: Einrichtung, Benutzername oder Passwort stimmen nicht, oder das Konto ist gesperrt.", "Signing in failed: the organisation, user name or password is wrong, or the account is locked.";
    too_many_sign_ins: "Zu viele fehlgeschlagene Anmeldungen von Ihrer Adresse. Bitte versuchen Sie es später noch einmal.", "Too many failed sign-ins from your address. Please try again later.";
    second_factor: "Bitte geben Sie den Einmalcode Ihrer Authenticator-App ein.", "Please enter the one-time code of your authenticator app.";
    form_expired: "Das Formular ist abgelaufen. Bitte versuchen Sie es noch einmal.", "The form has expired. Please try again.";
    my_tickets: "Meine Anfragen", "My requests";
    open_tickets: "Offen", "Open";
    closed_tickets: "Geschlossen", "Closed";
    no_tickets: "Hier sind keine Anfragen.", "There are no requests here.";
    new_ticket: "Neue Anfrage", "New request";
    number: "Nummer", "Number";
    title: "Betreff", "Subject";
    state: "Status", "State";
    details: "Angaben zum Ticket", "Ticket details";
    changed: "Geändert", "Changed";
    created: "Erstellt", "Created";
    messages: "Nachrichten", "Messages";
    you: "Sie", "You";
    colleague: "Kollegin/Kollege", "Colleague";
    requester: "Anfragende Person", "Requester";
    service_desk: "Service-Desk", "Service desk";
    service: "Service", "Service";
    ticket_type: "Art", "Type";
    area: "Bereich", "Area";
    none: "– keine Angabe –", "– none –";
    description: "Beschreibung", "Description";
    attachments: "Anhänge", "Attachments";
    attachments_hint: "Bis zu 20 Dateien, je höchstens 10 MiB.", "Up to 20 files, at most 10 MiB each.";
    desired_date: "Gewünscht bis", "Wanted by";
    submit_ticket: "Anfrage senden", "Send request";
    required: "Dieses Feld ist erforderlich.", "This field is required.";
    reply: "Antworten", "Reply";
    your_reply: "Ihre Antwort", "Your reply";
    send: "Senden", "Send";
    close_ticket: "Anfrage schließen", "Close request";
    reopen_ticket: "Anfrage wieder öffnen", "Reopen request";
    closed_note: "Diese Anfrage ist geschlossen.", "This request is closed.";
    error_title: "Das hat nicht geklappt", "That did not work";
    back: "Zurück", "Back";
    not_found: "Das gibt es hier nicht, oder Sie dürfen es nicht sehen.", "This does not exist here, or you may not see it.";
    agents_only: "Der Agenten-Arbeitsplatz ist nur für Agentinnen und Agenten.", "The agent desk is for agents only.";
    unavailable: "Ein Dienst ist gerade nicht erreichbar. Bitte versuchen Sie es gleich noch einmal.", "A service is unavailable right now. Please try again in a moment.";
    desk: "Agenten-Arbeitsplatz", "Agent desk";
    overview: "Übersicht", "Overview";
    queues: "Queues", "Queues";
    queue: "Queue", "Queue";
    count_new: "Neu", "New";
    count_open: "Offen", "Open";
    count_pending: "Wartend", "Pending";
    count_escalated: "Eskaliert", "Escalated";
    views: "Ansichten", "Views";
    search: "Suche", "Search";
    search_text: "Suchbegriffe", "Search words";
    search_button: "Suchen", "Search";
    any: "– alle –", "– any –";
    priority: "Priorität", "Priority";
    owner: "Besitzer", "Owner";
    responsible: "Verantwortlich", "Responsible";
    customer: "Kunde", "Customer";
    contact: "Kontakt", "Contact";
    locked: "Gesperrt", "Locked";
    lock: "Sperren (übernehmen)", "Lock (take)";
    unlock: "Freigeben", "Unlock";
    yes: "ja", "yes";
    no: "nein", "no";
    pending_until: "Wartet bis", "Pending until";
    time_accounted: "Erfasste Zeit (Minuten)", "Time accounted (minutes)";
    tags: "Schlagworte", "Tags";
    fields: "Weitere Felder", "More fields";
    next_page: "Nächste Seite", "Next page";
    first_page: "Erste Seite", "First page";
    select_ticket: "Auswählen", "Select";
    select_all: "Alle auswählen", "Select all";
    bulk: "Ausgewählte Tickets ändern", "Change the selected tickets";
    apply: "Anwenden", "Apply";
    unchanged: "– unverändert –", "– unchanged –";
    article_thread: "Verlauf der Nachrichten", "Message thread";
    internal_note: "Interne Notiz", "Internal note";
    from_customer: "Kunde", "Customer";
    from_agent: "Agent", "Agent";
    from_system: "System", "System";
    by_email: "E-Mail", "Email";
    by_phone: "Telefon", "Phone";
    by_portal: "Portal", "Portal";
    delivery: "Zustellung", "Delivery";
    answer: "Antworten (E-Mail)", "Answer (email)";
    note: "Notiz", "Note";
    phone_call: "Telefonat", "Phone call";
    body: "Text", "Text";
    template: "Vorlage", "Template";
    use_template: "Vorlage einsetzen", "Insert template";
    visible_to_customer: "Für den Kunden sichtbar", "Visible to the customer";
    change: "Ändern", "Change";
    save: "Speichern", "Save";
    history: "Historie", "History";
    links: "Verknüpfungen", "Links";
    children_done: "Teilaufgaben erledigt", "Sub-tickets done";
    link_ticket: "Verknüpfen mit Ticket", "Link with ticket";
    link: "Verknüpfen", "Link";
    link_kind: "Art der Verknüpfung", "Kind of link";
    link_related: "verwandt", "related";
    link_parent: "ist Eltern-Ticket von", "is the parent of";
    merge_into: "Zusammenführen in Ticket", "Merge into ticket";
    merge: "Zusammenführen", "Merge";
    split: "Als neues Ticket abtrennen", "Split off as a new ticket";
    phone_ticket: "Telefon-Ticket", "Phone ticket";
    create: "Anlegen", "Create";
    customer_hint: "Name oder E-Mail-Adresse", "Name or email address";
    live_updated: "Die Liste wurde aktualisiert.", "The list was updated.";
    ticket_updated: "Das Ticket wurde geändert.", "The ticket was changed.";
    shortcuts: "Tastenkürzel", "Keyboard shortcuts";
    shortcuts_help: "g o: Übersicht · g s: Suche · n: Telefon-Ticket · a: Antworten · i: Notiz · l: Sperren · j/k: nächste/vorige Zeile · Enter: öffnen · ?: Hilfe", "g o: overview · g s: search · n: phone ticket · a: answer · i: note · l: lock · j/k: next/previous row · Enter: open · ?: help";
    saved: "Gespeichert.", "Saved.";
    bulk_done: "Geändert", "Changed";
    bulk_failed: "Nicht geändert", "Not changed";
    escalated_note: "Eskaliert: nicht geschlossen und über dem Zieldatum.", "Escalated: not closed and past the target date.";
    created_by: "von", "by";
    sort_by: "Sortieren nach", "Sort by";
    admin: "Administration", "Administration";
    services: "Services", "Services";
    ticket_types: "Ticket-Arten", "Ticket types";
    states: "Status", "States";
    custom_fields: "Eigene Felder", "Custom fields";
    templates: "Vorlagen", "Templates";
    agents: "Agenten", "Agents";
    customers: "Kunden", "Customers";
    companies: "Firmen", "Companies";
    groups: "Gruppen", "Groups";
    roles: "Rollen", "Roles";
    tenants: "Mandanten", "Tenants";
    name: "Name", "Name";
    group: "Gruppe", "Group";
    portal_queue: "Im Portal wählbar", "Offered in the portal";
    follow_up: "Antwort auf geschlossene Tickets", "Reply to a closed ticket";
    automatic_mail: "Automatische Mail an geschlossene Tickets (Abwesenheitsnotiz, Unzustellbarkeit, Liste)", "Automatic mail to a closed ticket (out of office, bounce, list)";
    addresses: "E-Mail-Adressen", "Email addresses";
    signature: "Signatur", "Signature";
    base_state: "Verhält sich wie", "Behaves as";
    key: "Schlüssel", "Key";
    label: "Bezeichnung", "Label";
    kind: "Art", "Kind";
    options: "Auswahlwerte (durch Komma getrennt)", "Options (separated by commas)";
    email: "E-Mail", "Email";
    source: "Quelle", "Source";
    active: "Aktiv", "Active";
    company: "Firma", "Company";
    company_tickets: "Sieht die Anfragen der Firma", "Sees the company's requests";
    tenant_admin: "Verwaltet den Mandanten", "Administers the tenant";
    permissions: "Rechte", "Permissions";
    slug: "Kürzel", "Short name";
    add: "Hinzufügen", "Add";
    delete: "Löschen", "Delete";
    tenant_choice: "Mandant", "Tenant";
    actions: "Aktionen", "Actions";
    agent: "Agent", "Agent";
    role: "Rolle", "Role";
    phone: "Telefon", "Phone";
    offered_in: "Angeboten in (keine: in allen Queues)", "Offered in (none: every queue)";
    may_sign_in: "Darf sich anmelden", "May sign in";
    new_password: "Neues Passwort (leer lassen, um es zu behalten)", "New password (leave empty to keep it)";
    two_factor: "Zweiter Faktor", "Second factor";
    watch: "Beobachten", "Watch";
    unwatch: "Nicht mehr beobachten", "Stop watching";
    save_search: "Suche speichern als", "Save this search as";
    delete_search: "Gespeicherte Suche löschen", "Delete this saved search";
}

impl Texts {
    /// A ticket's state type, as the portal and the desk name it.
    pub fn state(&self, state_type: StateType) -> &'static str {
        let de = self.lang == "de";
        match (state_type, de) {
            (StateType::New, true) => "neu",
            (StateType::New, false) => "new",
            (StateType::Open, true) => "in Bearbeitung",
            (StateType::Open, false) => "in progress",
            (StateType::PendingReminder | StateType::PendingAuto, true) => "wartet",
            (StateType::PendingReminder | StateType::PendingAuto, false) => "waiting",
            (StateType::Closed, true) => "geschlossen",
            (StateType::Closed, false) => "closed",
            (StateType::Merged, true) => "zusammengeführt",
            (StateType::Merged, false) => "merged",
            (StateType::Removed, true) => "entfernt",
            (StateType::Removed, false) => "removed",
            (StateType::Unspecified, true) => "unbekannt",
            (StateType::Unspecified, false) => "unknown",
        }
    }

    /// A ticket state (the finer one agents set), by its API name.
    pub fn ticket_state(&self, state: &str) -> &'static str {
        let de = self.lang == "de";
        match (state, de) {
            ("new", true) => "neu",
            ("new", false) => "new",
            ("open", true) => "offen",
            ("open", false) => "open",
            ("pending_reminder", true) => "warten zur Erinnerung",
            ("pending_reminder", false) => "pending reminder",
            ("pending_auto_close_successful", true) => "warten auf erfolgreich schließen",
            ("pending_auto_close_successful", false) => "pending auto close +",
            ("pending_auto_close_unsuccessful", true) => "warten auf erfolglos schließen",
            ("pending_auto_close_unsuccessful", false) => "pending auto close −",
            ("closed_successful", true) => "erfolgreich geschlossen",
            ("closed_successful", false) => "closed successful",
            ("closed_unsuccessful", true) => "erfolglos geschlossen",
            ("closed_unsuccessful", false) => "closed unsuccessful",
            ("merged", true) => "zusammengeführt",
            ("merged", false) => "merged",
            ("removed", true) => "entfernt",
            ("removed", false) => "removed",
            (_, true) => "unbekannt",
            (_, false) => "unknown",
        }
    }

    /// Priorities 1 (very low) to 5 (very high).
    pub fn priority(&self, p: u32) -> &'static str {
        let de = self.lang == "de";
        match (p, de) {
            (1, true) => "1 sehr niedrig",
            (1, false) => "1 very low",
            (2, true) => "2 niedrig",
            (2, false) => "2 low",
            (3, true) => "3 normal",
            (3, false) => "3 normal",
            (4, true) => "4 hoch",
            (4, false) => "4 high",
            (_, true) => "5 sehr hoch",
            (_, false) => "5 very high",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_name_every_state_and_priority() {
        for t in [&DE, &EN] {
            for s in (1..).map_while(|i| StateType::try_from(i).ok()) {
                assert_ne!(t.state(s), t.state(StateType::Unspecified), "{s:?}");
            }
            for p in 1..=5 {
                assert!(t.priority(p).starts_with(&p.to_string()));
            }
        }
        assert_eq!(DE.state(StateType::Open), "in Bearbeitung");
        assert_eq!(EN.ticket_state("closed_successful"), "closed successful");
    }
}
