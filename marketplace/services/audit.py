"""Write and read the append-only audit trail."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_midnight_utc
from marketplace.models import AuditEvent, User
from marketplace.services import audit_display
from marketplace.services.context import current_ip
from marketplace.services.pagination import PER_PAGE, Page, paginate

# Dotted action names shown to administrators, in French.
ACTION_LABELS = {
    "org.created": "Organisation créée",
    "auth.signup": "Inscription sur la plateforme",
    "auth.login": "Connexion",
    "auth.login_failed": "Échec de connexion",
    "auth.logout": "Déconnexion",
    "auth.password_reset_requested": "Demande de réinitialisation du mot de passe",
    "auth.password_reset": "Mot de passe réinitialisé",
    "auth.password_changed": "Mot de passe modifié",
    "auth.email_confirmed": "Adresse électronique confirmée",
    "member.invited": "Invitation envoyée",
    "member.invitation_revoked": "Invitation annulée",
    "member.joined": "Invitation acceptée",
    "member.role_changed": "Rôle modifié",
    "member.removed": "Membre retiré",
    "export.requested": "Export demandé",
    "opco.created": "OPCO créé",
    "opco.branches_changed": "Branches couvertes modifiées",
    "opco.settings_changed": "Paramètres de l'OPCO modifiés",
    "invoice.drafted": "Facture préparée (brouillon)",
    "invoice.issue": "Facture émise",
    "invoice.cancel": "Facture annulée par avoir",
    "provider.trainee_information_changed": "Informations stagiaires modifiées (référent handicap, règlement intérieur, signataire)",
    "session.connection_url_changed": "Lien de connexion de la session modifié",
    "convocation.sent": "Convocation envoyée",
    "complaint.filed": "Réclamation déposée",
    "complaint.analyse": "Réclamation passée en analyse",
    "complaint.answer": "Réponse à la réclamation envoyée",
    "complaint.close": "Réclamation clôturée",
    "survey_question.added": "Question de satisfaction ajoutée",
    "survey_question.moved": "Question de satisfaction déplacée",
    "survey_question.activated": "Question de satisfaction réactivée",
    "survey_question.deactivated": "Question de satisfaction désactivée",
    "company.opco_attached": "Rattachement à l'OPCO",
    "company.opco_detached": "Fin du rattachement à l'OPCO",
    "company.opco_confirmed": "OPCO indiqué par l'entreprise confirmé par la plateforme",
    "company.opco_refused": "OPCO indiqué par l'entreprise non confirmé par la plateforme",
    "company.headcount_changed": "Effectif de l'entreprise mis à jour",
    "catalogue.action_created": "Action collective créée",
    "catalogue.action_updated": "Action collective modifiée",
    "enrolment.created": "Inscription demandée",
    "budget.alert": "Alerte de consommation d'une enveloppe budgétaire",
    "budget.envelope_created": "Enveloppe budgétaire créée",
    "budget.envelope_updated": "Enveloppe budgétaire modifiée",
    "budget.action_attached": "Enveloppe budgétaire d'une action choisie",
    "enrolment.approve": "Inscription validée par l'OPCO",
    "enrolment.refuse": "Inscription refusée par l'OPCO",
    "enrolment.cancel": "Inscription annulée par l'entreprise",
    "enrolment.offer": "Place libérée proposée (liste d'attente)",
    "enrolment.accept_offer": "Place proposée acceptée",
    "enrolment.accept_offer_for_approval": "Place proposée acceptée (en attente de validation)",
    "enrolment.decline_offer": "Place proposée déclinée",
    "enrolment.expire_offer": "Proposition de place expirée",
    "enrolment.session_cancelled": "Inscription annulée avec la session",
    "enrolment.close_waitlist": "Liste d'attente close au début de la session",
    "enrolment.convoke": "Stagiaire convoqué(e)",
    "enrolment.start_training": "Début de la formation du stagiaire",
    "enrolment.attended": "Formation suivie en totalité",
    "enrolment.partially_attended": "Formation suivie en partie",
    "enrolment.absent_excused": "Absence justifiée",
    "enrolment.absent": "Absence non justifiée",
    "enrolment.abandon": "Abandon en cours de formation",
    "enrolment.close": "Inscription clôturée (service fait)",
    "enrolment.reopen": "Inscription rouverte pour correction",
    "enrolment.replaced": "Stagiaire remplacé",
    "action.publish": "Action collective publiée",
    "action.archive": "Action collective archivée",
    "action.unarchive": "Action collective remise en brouillon",
    "catalogue.provider_referenced": "Organisme de formation référencé",
    "catalogue.referencing_updated": "Référencement modifié",
    "referencing.suspend": "Référencement suspendu",
    "referencing.reactivate": "Référencement réactivé",
    "referencing.withdraw": "Référencement retiré",
    "referencing.renew": "Organisme référencé à nouveau",
    "session.created": "Session créée",
    "session.updated": "Session modifiée",
    "session.publish": "Inscriptions ouvertes sur une session",
    "session.close_registrations": "Inscriptions closes sur une session",
    "session.reopen": "Inscriptions rouvertes sur une session",
    "session.confirm": "Session confirmée",
    "session.start": "Session démarrée",
    "session.complete": "Session réalisée",
    "session.postpone": "Session reportée",
    "session.deliver": "Session clôturée (service fait)",
    "session.request_correction": "Correction demandée par l'OPCO",
    "session.correction_requested": "Correction du service fait demandée",
    "scheduler.job_run": "Tâche planifiée lancée à la main",
    "session.cancel": "Session annulée",
    "employee.created": "Salarié ajouté au registre",
    "employee.updated": "Fiche d'un salarié modifiée",
    "employee.erased": "Salarié supprimé du registre (données effacées)",
    "employee.imported": "Import de salariés depuis un fichier CSV",
    "tender.declaration_signed": "Déclaration d'absence de conflit d'intérêts signée",
    "tender.scores_submitted": "Grille de notation envoyée",
    "tender.award": "Appel d'offres attribué",
    "tender_response.declare_admissible": "Réponse déclarée recevable",
    "tender_response.declare_inadmissible": "Réponse déclarée irrecevable",
    "tender_response.retain": "Réponse retenue",
    "tender_response.reject": "Réponse non retenue",
    "tender.created": "Appel d'offres créé",
    "tender.updated": "Appel d'offres modifié",
    "tender.attachment_added": "Pièce jointe ajoutée à un appel d'offres",
    "tender.attachment_removed": "Pièce jointe retirée d'un appel d'offres",
    "tender.publish": "Appel d'offres publié",
    "tender.close": "Appel d'offres clos (date limite de dépôt atteinte)",
    "tender.start_analysis": "Analyse d'un appel d'offres commencée",
    "tender.declare_unsuccessful": "Appel d'offres déclaré infructueux",
    "tender.question_asked": "Question posée sur un appel d'offres",
    "tender.question_answered": "Réponse à une question sur un appel d'offres",
    "tender_response.started": "Réponse à un appel d'offres commencée",
    "tender_response.draft_saved": "Brouillon de réponse à un appel d'offres enregistré",
    "tender_response.document_added": "Document joint à une réponse à un appel d'offres",
    "tender_response.document_removed": "Document retiré d'une réponse à un appel d'offres",
    "tender_response.submit": "Réponse à un appel d'offres déposée",
    "tender_response.withdraw": "Réponse à un appel d'offres retirée",
    "provider.qualiopi_renewed": "Certificat Qualiopi renouvelé",
    "attendance.opened": "Demi-journée ouverte à l'émargement",
    "attendance.signed": "Émargement signé par un stagiaire",
    "attendance.marked": "Présences d'une demi-journée saisies",
    "attendance.attested": "Demi-journée attestée par le formateur (verrouillée)",
    "attendance.amended": "Présence rectifiée après attestation (motivée)",
    "attendance.proof_uploaded": "Preuve d'une demi-journée déposée (feuille scannée ou relevé de connexions)",
    # OPCO control and payment of invoices (services.invoice_control, services.payments, services.bank_details)
    "invoice.start_control": "Facture prise en contrôle par l'OPCO",
    "invoice.request_info": "Compléments demandés sur une facture",
    "invoice.answer_info": "Compléments transmis à l'OPCO",
    "invoice.validate": "Facture validée (bon à payer)",
    "invoice.reject": "Facture rejetée",
    "invoice.pay": "Facture payée",
    "opco.invoices_validated": "Factures validées en lot",
    "opco.payment_batch_created": "Lot de paiement créé (fichier de virement SEPA)",
    "opco.payment_batch_exported": "Fichier de virement SEPA téléchargé",
    "opco.payment_batch_paid": "Lot de paiement marqué payé",
    "provider.bank_change_requested": "Changement de coordonnées bancaires demandé",
    "provider.bank_changed": "Coordonnées bancaires modifiées (confirmées par un administrateur)",
    # Card payments of company invoices (services.card_payments, stripe_settings, stripe_refunds)
    "invoice.start_payment": "Paiement par carte commencé",
    "invoice.payment_failed": "Paiement par carte refusé",
    "invoice.refund": "Remboursement sur la carte (avoir)",
    "provider.stripe_connected": "Compte Stripe connecté ou clés modifiées",
    "provider.stripe_disconnected": "Compte Stripe déconnecté",
}


def record(
    action: str,
    *,
    organisation_id: int | None = None,
    actor: User | None = None,
    obj: object | None = None,
    data: dict | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (it is saved with the change it describes)."""
    event = AuditEvent(
        action=action,
        organisation_id=organisation_id,
        actor_id=actor.id if actor is not None else None,
        object_type=type(obj).__name__ if obj is not None else None,
        object_id=getattr(obj, "id", None) if obj is not None else None,
        data=data or {},
        ip_address=current_ip(),
    )
    db.session.add(event)
    return event


def action_label(action: str) -> str:
    """The French label of an event; an event without one (added without its label) still reads in French."""
    return ACTION_LABELS.get(action) or "Autre événement"


# The details of an event and the filter's choices read in French: see audit_display.
describe = audit_display.describe


def action_choices(kind: str | None = None) -> list[tuple[str, str]]:
    """The events the log can be filtered by: those an organisation of this kind can have, in French order."""
    return audit_display.action_choices(ACTION_LABELS, kind)


def organisation_log(
    organisation_id: int,
    *,
    action: str | None = None,
    actor_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    page: int | None = 1,
    per_page: int = PER_PAGE,
) -> Page[AuditEvent]:
    """One organisation's events, newest first, filtered; one page of them (the page asked for is clamped)."""
    query = select(AuditEvent).where(AuditEvent.organisation_id == organisation_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor_id:
        # An id beyond the database's integers names nobody (and would overflow the query).
        query = (
            query.where(AuditEvent.actor_id == actor_id) if actor_id <= 2_147_483_647 else query.where(False)
        )
    # Days are Paris days (what the page shows): from Paris midnight, stored times being UTC.
    if date_from and date_from > date.min:
        query = query.where(AuditEvent.created_at >= paris_midnight_utc(date_from))
    if date_to and date_to < date.max - timedelta(days=1):  # the last days have no "next day" to stop before
        query = query.where(AuditEvent.created_at < paris_midnight_utc(date_to + timedelta(days=1)))
    return paginate(query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()), page, per_page)
