"""Roles are named bundles of permissions, per kind of organisation. Code checks permissions, never role names."""

from dataclasses import dataclass


class Perm:
    # Shared by every kind of organisation.
    MANAGE_MEMBERS = "manage_members"
    VIEW_AUDIT = "view_audit"
    VIEW_DASHBOARD = "view_dashboard"
    # OPCO
    MANAGE_CATALOGUE = "manage_catalogue"
    MANAGE_TENDERS = "manage_tenders"
    EVALUATE_TENDERS = "evaluate_tenders"
    CONTROL_DELIVERY = "control_delivery"
    VIEW_REPORTS = "view_reports"
    # Company
    ENROL = "enrol"
    MANAGE_EMPLOYEES = "manage_employees"
    PAY = "pay"
    # Training organisation
    MANAGE_SESSIONS = "manage_sessions"
    TAKE_ATTENDANCE = "take_attendance"
    INVOICE = "invoice"
    RESPOND_TENDERS = "respond_tenders"

    LABELS = {
        MANAGE_MEMBERS: "Gérer les membres et les invitations",
        VIEW_AUDIT: "Consulter le journal d'activité",
        VIEW_DASHBOARD: "Consulter le tableau de bord",
        MANAGE_CATALOGUE: "Gérer le catalogue des actions collectives",
        MANAGE_TENDERS: "Gérer les appels d'offres",
        EVALUATE_TENDERS: "Évaluer les réponses aux appels d'offres",
        CONTROL_DELIVERY: "Contrôler le service fait",
        VIEW_REPORTS: "Consulter les rapports",
        ENROL: "Inscrire des salariés",
        MANAGE_EMPLOYEES: "Gérer le registre des salariés",
        PAY: "Régler le reste à charge",
        MANAGE_SESSIONS: "Gérer les sessions",
        TAKE_ATTENDANCE: "Saisir les émargements",
        INVOICE: "Facturer",
        RESPOND_TENDERS: "Répondre aux appels d'offres",
    }


@dataclass(frozen=True)
class Role:
    code: str
    label: str
    permissions: frozenset[str]
    description: str = ""


ADMIN = "admin"

_BASE = {Perm.VIEW_DASHBOARD}

ROLES: dict[str, dict[str, Role]] = {
    "opco": {
        ADMIN: Role(
            ADMIN,
            "Administrateur",
            frozenset(
                _BASE
                | {
                    Perm.MANAGE_MEMBERS,
                    Perm.VIEW_AUDIT,
                    Perm.MANAGE_CATALOGUE,
                    Perm.MANAGE_TENDERS,
                    Perm.EVALUATE_TENDERS,
                    Perm.CONTROL_DELIVERY,
                    Perm.VIEW_REPORTS,
                }
            ),
            "Tous les droits, dont la gestion des membres.",
        ),
        "catalogue_manager": Role(
            "catalogue_manager",
            "Chargé de catalogue",
            frozenset(_BASE | {Perm.MANAGE_CATALOGUE, Perm.VIEW_REPORTS}),
            "Crée et publie les actions collectives.",
        ),
        "tender_manager": Role(
            "tender_manager",
            "Acheteur",
            frozenset(_BASE | {Perm.MANAGE_TENDERS, Perm.EVALUATE_TENDERS, Perm.VIEW_REPORTS}),
            "Prépare les appels d'offres et attribue les lots.",
        ),
        "evaluator": Role(
            "evaluator",
            "Évaluateur",
            frozenset(_BASE | {Perm.EVALUATE_TENDERS}),
            "Note les réponses aux appels d'offres.",
        ),
        "controller": Role(
            "controller",
            "Contrôleur",
            frozenset(_BASE | {Perm.CONTROL_DELIVERY, Perm.VIEW_REPORTS}),
            "Contrôle le service fait avant paiement.",
        ),
        "viewer": Role(
            "viewer", "Lecteur", frozenset(_BASE | {Perm.VIEW_REPORTS}), "Consulte sans modifier."
        ),
    },
    "company": {
        ADMIN: Role(
            ADMIN,
            "Administrateur",
            frozenset(
                _BASE | {Perm.MANAGE_MEMBERS, Perm.VIEW_AUDIT, Perm.ENROL, Perm.MANAGE_EMPLOYEES, Perm.PAY}
            ),
            "Tous les droits, dont la gestion des membres.",
        ),
        "hr": Role(
            "hr",
            "Responsable formation",
            frozenset(_BASE | {Perm.ENROL, Perm.MANAGE_EMPLOYEES}),
            "Inscrit les salariés et tient le registre.",
        ),
        "accountant": Role(
            "accountant", "Comptable", frozenset(_BASE | {Perm.PAY}), "Règle le reste à charge."
        ),
        "viewer": Role("viewer", "Lecteur", frozenset(_BASE), "Consulte sans modifier."),
    },
    "provider": {
        ADMIN: Role(
            ADMIN,
            "Administrateur",
            frozenset(
                _BASE
                | {
                    Perm.MANAGE_MEMBERS,
                    Perm.VIEW_AUDIT,
                    Perm.MANAGE_SESSIONS,
                    Perm.TAKE_ATTENDANCE,
                    Perm.INVOICE,
                    Perm.RESPOND_TENDERS,
                }
            ),
            "Tous les droits, dont la gestion des membres.",
        ),
        "planner": Role(
            "planner",
            "Responsable des sessions",
            frozenset(_BASE | {Perm.MANAGE_SESSIONS, Perm.TAKE_ATTENDANCE, Perm.RESPOND_TENDERS}),
            "Ouvre les sessions et répond aux appels d'offres.",
        ),
        "trainer": Role(
            "trainer", "Formateur", frozenset(_BASE | {Perm.TAKE_ATTENDANCE}), "Saisit les émargements."
        ),
        "accountant": Role(
            "accountant", "Comptable", frozenset(_BASE | {Perm.INVOICE}), "Émet les factures."
        ),
    },
}


def roles_for(kind: str) -> dict[str, Role]:
    return ROLES[kind]


def role(kind: str, code: str) -> Role | None:
    return ROLES.get(kind, {}).get(code)


def has_permission(kind: str, role_code: str, permission: str) -> bool:
    r = role(kind, role_code)
    return bool(r and permission in r.permissions)


def is_admin_role(kind: str, role_code: str) -> bool:
    """An administrator is whoever may manage members; the last one must stay."""
    return has_permission(kind, role_code, Perm.MANAGE_MEMBERS)
