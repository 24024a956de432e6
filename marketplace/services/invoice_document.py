"""The issued invoice as a document: PDF/A-3b from ``templates/pdf/invoice.html`` (WeasyPrint) with its
Factur-X XML embedded (profile EN 16931, UN/CEFACT CII, checked against the library's XSD before embedding).

The XML is written here (not with a generator) so each business term maps visibly to a frozen column:
BT-1 number, BT-2 issue date, BT-3 type (380 invoice, 381 credit note), BT-9 due date, BT-13 order
reference, BT-25 the credited invoice, the parties, the lines, VAT breakdown (S: standard, E: exempt with
its wording, O: outside scope for the dédit), totals.
"""

from __future__ import annotations

import hashlib
import logging
from decimal import Decimal
from xml.sax.saxutils import escape

from flask import render_template

from marketplace.models import Invoice, InvoiceKind, TrainingSession
from marketplace.services.documents import font_config

# The library reports each step at INFO level: noise in the platform's logs.
logging.getLogger("factur-x").setLevel(logging.WARNING)

LEVEL = "en16931"
UNITS = {"heure": "HUR", "stagiaire": "C62", "forfait": "C62"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _amount(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


def _category(rate: Decimal, kind: str, invoice: Invoice) -> tuple[str, str | None]:
    """VAT category code and exemption reason (BT-151, BT-120)."""
    if rate > 0:
        return "S", None
    if kind == "dedit":
        return "O", "Indemnité de dédit hors champ de la TVA"
    reason = (invoice.vat_mention or "Exonération de TVA").split(" ; ")[0]
    return "E", reason


def _party(tag: str, name: str, siret: str, address: str, vat: str) -> str:
    legal = f'<ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">{escape(siret[:9])}</ram:ID>' \
        "</ram:SpecifiedLegalOrganization>" if siret else ""  # fmt: skip
    tax = f'<ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">{escape(vat)}</ram:ID></ram:SpecifiedTaxRegistration>' \
        if vat else ""  # fmt: skip
    return (
        f"<ram:{tag}><ram:Name>{escape(name)}</ram:Name>{legal}"
        f"<ram:PostalTradeAddress><ram:LineOne>{escape(address or name)}</ram:LineOne>"
        f"<ram:CountryID>FR</ram:CountryID></ram:PostalTradeAddress>{tax}</ram:{tag}>"
    )


def facturx_xml(invoice: Invoice, credited: Invoice | None = None) -> bytes:
    """CII XML of the invoice (EN 16931 profile)."""
    type_code = "381" if invoice.kind == InvoiceKind.CREDIT_NOTE else "380"
    lines_xml = []
    breakdown: dict[tuple[str, Decimal], list[int]] = {}
    reasons: dict[tuple[str, Decimal], str | None] = {}
    for line in invoice.lines:
        rate = Decimal(line.vat_rate)
        code, reason = _category(rate, line.kind, invoice)
        key = (code, rate)
        amounts = breakdown.setdefault(key, [0, 0])
        amounts[0] += line.amount_ht_cents
        amounts[1] += line.vat_cents
        reasons[key] = reason
        quantity = Decimal(line.quantity)
        net = Decimal(line.amount_ht_cents) / 100 / quantity if quantity else Decimal(0)
        lines_xml.append(
            "<ram:IncludedSupplyChainTradeLineItem>"
            f"<ram:AssociatedDocumentLineDocument><ram:LineID>{line.position}</ram:LineID>"
            "</ram:AssociatedDocumentLineDocument>"
            f"<ram:SpecifiedTradeProduct><ram:Name>{escape(line.label)}</ram:Name></ram:SpecifiedTradeProduct>"
            "<ram:SpecifiedLineTradeAgreement><ram:NetPriceProductTradePrice>"
            f"<ram:ChargeAmount>{net:.4f}</ram:ChargeAmount></ram:NetPriceProductTradePrice>"
            "</ram:SpecifiedLineTradeAgreement>"
            f'<ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode="{UNITS.get(line.unit, "C62")}">'
            f"{quantity:.2f}</ram:BilledQuantity></ram:SpecifiedLineTradeDelivery>"
            "<ram:SpecifiedLineTradeSettlement><ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode>"
            f"<ram:CategoryCode>{code}</ram:CategoryCode>"
            f"<ram:RateApplicablePercent>{rate * 100:.2f}</ram:RateApplicablePercent></ram:ApplicableTradeTax>"
            "<ram:SpecifiedTradeSettlementLineMonetarySummation>"
            f"<ram:LineTotalAmount>{_amount(line.amount_ht_cents)}</ram:LineTotalAmount>"
            "</ram:SpecifiedTradeSettlementLineMonetarySummation></ram:SpecifiedLineTradeSettlement>"
            "</ram:IncludedSupplyChainTradeLineItem>"
        )
    taxes = []
    for (code, rate), (base, vat) in breakdown.items():
        reason = reasons[(code, rate)]
        taxes.append(
            "<ram:ApplicableTradeTax>"
            f"<ram:CalculatedAmount>{_amount(vat)}</ram:CalculatedAmount><ram:TypeCode>VAT</ram:TypeCode>"
            + (f"<ram:ExemptionReason>{escape(reason)}</ram:ExemptionReason>" if reason else "")
            + f"<ram:BasisAmount>{_amount(base)}</ram:BasisAmount><ram:CategoryCode>{code}</ram:CategoryCode>"
            f"<ram:RateApplicablePercent>{rate * 100:.2f}</ram:RateApplicablePercent></ram:ApplicableTradeTax>"
        )
    notes = [invoice.late_penalty_text, f"Organisme de formation, NDA {invoice.seller_nda}"]
    if invoice.vat_mention:
        notes.append(invoice.vat_mention)
    referenced = (
        "<ram:InvoiceReferencedDocument>"
        f"<ram:IssuerAssignedID>{escape(credited.number)}</ram:IssuerAssignedID>"
        '<ram:FormattedIssueDateTime><qdt:DateTimeString format="102">'
        f"{credited.issued_on:%Y%m%d}</qdt:DateTimeString></ram:FormattedIssueDateTime>"
        "</ram:InvoiceReferencedDocument>"
        if credited is not None and credited.number
        else ""
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" '
        'xmlns:qdt="urn:un:unece:uncefact:data:standard:QualifiedDataType:100" '
        'xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100" '
        'xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">'
        "<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>"
        "<ram:ID>urn:cen.eu:en16931:2017</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>"
        "</rsm:ExchangedDocumentContext>"
        f"<rsm:ExchangedDocument><ram:ID>{escape(invoice.number)}</ram:ID><ram:TypeCode>{type_code}</ram:TypeCode>"
        f'<ram:IssueDateTime><udt:DateTimeString format="102">{invoice.issued_on:%Y%m%d}</udt:DateTimeString>'
        "</ram:IssueDateTime>"
        + "".join(
            f"<ram:IncludedNote><ram:Content>{escape(n)}</ram:Content></ram:IncludedNote>" for n in notes
        )
        + "</rsm:ExchangedDocument><rsm:SupplyChainTradeTransaction>"
        + "".join(lines_xml)
        + "<ram:ApplicableHeaderTradeAgreement>"
        + _party(
            "SellerTradeParty",
            invoice.seller_name,
            invoice.seller_siret,
            invoice.seller_address,
            invoice.seller_vat_number,
        )
        + _party(
            "BuyerTradeParty",
            invoice.buyer_name,
            invoice.buyer_siret,
            invoice.buyer_address,
            invoice.buyer_vat_number,
        )
        + "<ram:BuyerOrderReferencedDocument>"
        f"<ram:IssuerAssignedID>{escape(invoice.order_reference)}</ram:IssuerAssignedID>"
        "</ram:BuyerOrderReferencedDocument></ram:ApplicableHeaderTradeAgreement>"
        "<ram:ApplicableHeaderTradeDelivery/>"
        "<ram:ApplicableHeaderTradeSettlement><ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>"
        + "".join(taxes)
        + "<ram:SpecifiedTradePaymentTerms>"
        f"<ram:Description>Paiement à {invoice.payment_days} jours</ram:Description>"
        f'<ram:DueDateDateTime><udt:DateTimeString format="102">{invoice.due_on:%Y%m%d}</udt:DateTimeString>'
        "</ram:DueDateDateTime></ram:SpecifiedTradePaymentTerms>"
        "<ram:SpecifiedTradeSettlementHeaderMonetarySummation>"
        f"<ram:LineTotalAmount>{_amount(invoice.total_ht_cents)}</ram:LineTotalAmount>"
        f"<ram:TaxBasisTotalAmount>{_amount(invoice.total_ht_cents)}</ram:TaxBasisTotalAmount>"
        f'<ram:TaxTotalAmount currencyID="EUR">{_amount(invoice.vat_cents)}</ram:TaxTotalAmount>'
        f"<ram:GrandTotalAmount>{_amount(invoice.total_ttc_cents)}</ram:GrandTotalAmount>"
        f"<ram:DuePayableAmount>{_amount(invoice.total_ttc_cents)}</ram:DuePayableAmount>"
        "</ram:SpecifiedTradeSettlementHeaderMonetarySummation>"
        + referenced
        + "</ram:ApplicableHeaderTradeSettlement></rsm:SupplyChainTradeTransaction></rsm:CrossIndustryInvoice>"
    )
    return xml.encode("utf-8")


def render(invoice: Invoice, credited: Invoice | None = None) -> bytes:
    """PDF/A-3b of the invoice with its Factur-X XML attached (XSD-checked by the library)."""
    import facturx
    from weasyprint import HTML

    from marketplace.extensions import db

    session = db.session.get(TrainingSession, invoice.session_id)
    html = render_template("pdf/invoice.html", invoice=invoice, credited=credited, session=session)
    pdf = HTML(string=html, base_url=".").write_pdf(font_config=font_config(), pdf_variant="pdf/a-3b")
    xml = facturx_xml(invoice, credited)
    return facturx.generate_from_binary(
        pdf, xml, flavor="factur-x", level=LEVEL, check_xsd=True, lang="fr-FR"
    )


def render_receipt(invoice: Invoice) -> bytes:
    """The paid invoice as a receipt: the same document marked « acquittée » with the date and means of
    payment — a new PDF (the issued invoice's stored PDF is never touched)."""
    from weasyprint import HTML

    from marketplace.extensions import db
    from marketplace.models import PaymentMeans

    session = db.session.get(TrainingSession, invoice.session_id)
    means = PaymentMeans.LABELS.get(invoice.payment_means or "", "virement bancaire")
    html = render_template("pdf/invoice.html", invoice=invoice, credited=None, session=session, receipt=means)
    return HTML(string=html, base_url=".").write_pdf(font_config=font_config())
