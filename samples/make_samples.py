#!/usr/bin/env python3
"""Writes the sample inbound files of the kvarnby, revontuli, bank and desk senders.

    python3 samples/make_samples.py            # (re)write samples/inbox/{kvarnby,revontuli,bank,desk}/

Standard library only; no clock, no randomness: running it twice gives the same bytes. The
nordlys and fjellstua samples are hand-written and are never touched here.

Every party, number and address is invented. The check digits (Swedish and Finnish
organisation numbers, Norwegian account numbers, IBANs, bankgiro numbers, KID, OCR and
viitenumero references) are computed below, so the records are valid where they are meant to
be; the few deliberately odd records are marked `ODD:` and listed in samples/README.md.

The agency references in AGENCY_REFS were read from a run of all samples:

    mkdir -p T/var/inbox && cp -r samples/inbox/* T/var/inbox/
    KRAVFLYT_LOG=warn target/debug/kravflyt --data-dir T process --as-of 2026-11-23
    target/debug/kravflyt --data-dir T case list --json

kravflyt numbers cases in the order it applies the files: by file name across all inboxes
when they arrive together. So the invoice files are named to sort before the bank and desk
files (revontuli's start with a date, the others with `eksport`/`faktura`), and renaming one
changes which case gets which reference: run the commands above again and update the table.
"""

from __future__ import annotations

import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
INBOX = HERE / "inbox"

# ---------------------------------------------------------------------------------------------
# Check digits


def luhn_digit(body: str) -> str:
    """The Luhn (modulus 10) check digit for `body`: KID mod 10, Swedish OCR, bankgiro."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def luhn_ok(number: str) -> bool:
    return number[-1] == luhn_digit(number[:-1])


def kid_mod10(base: str) -> str:
    return base + luhn_digit(base)


def se_ocr(base: str) -> str:
    """Swedish OCR reference with Bankgirot length digit: base + length digit + Luhn digit."""
    length_digit = str((len(base) + 2) % 10)
    return base + length_digit + luhn_digit(base + length_digit)


def fi_ref(base: str) -> str:
    """Finnish reference number (viitenumero): weights 7, 3, 1 from the right."""
    weights = (7, 3, 1)
    total = sum(int(ch) * weights[i % 3] for i, ch in enumerate(reversed(base)))
    return base + str((10 - total % 10) % 10)


def se_org_ok(number: str) -> bool:
    return len(number) == 10 and number.isdigit() and int(number[2]) >= 2 and luhn_ok(number)


def fi_business_id(body: str) -> str:
    """Finnish business ID (Y-tunnus) NNNNNNN-C; raises for a body without a valid check."""
    r = sum(int(ch) * w for ch, w in zip(body, (7, 9, 10, 5, 8, 4, 2))) % 11
    if r == 1:
        raise ValueError(f"{body}: no valid check digit")
    return f"{body}-{0 if r == 0 else 11 - r}"


def no_account(first10: str) -> str:
    """A Norwegian bank account number: 10 digits + modulus 11 check digit."""
    r = sum(int(ch) * w for ch, w in zip(first10, (5, 4, 3, 2, 7, 6, 5, 4, 3, 2))) % 11
    check = 0 if r == 0 else 11 - r
    if check == 10:
        raise ValueError(f"{first10}: no valid check digit")
    return first10 + str(check)


def iban(country: str, bban: str) -> str:
    moved = bban + country + "00"
    digits = "".join(str(int(ch, 36)) for ch in moved)
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


# ---------------------------------------------------------------------------------------------
# Money


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def plain(value: Decimal) -> str:
    """1656.25: XML and PEPPOL amounts."""
    return f"{cents(value):.2f}"


def comma(value: Decimal) -> str:
    """48 750,00: the canonical CSV style of the bank and desk senders."""
    whole, frac = f"{cents(value):.2f}".split(".")
    sign = "-" if whole.startswith("-") else ""
    whole = whole.lstrip("-")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return f"{sign}{' '.join(groups)},{frac}"


def minor(value: Decimal) -> int:
    return int(cents(value) * 100)


# ---------------------------------------------------------------------------------------------
# A small XML writer: (tag, attributes, children-or-text) tuples, two-space indentation.


def esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def E(tag: str, *content, **attrs):
    """An element: E("cbc:ID", "2026-0412"), E("cac:Party", child, child), E("cbc:Amount", "1.00", currencyID="SEK")."""
    attrs = {k.replace("__", ":"): v for k, v in attrs.items()}
    if len(content) == 1 and isinstance(content[0], str):
        return (tag, attrs, content[0])
    children = []
    for c in content:
        if c is None:
            continue
        if isinstance(c, list):
            children.extend(x for x in c if x is not None)
        else:
            children.append(c)
    return (tag, attrs, children)


def render_xml(root, namespaces: list[tuple[str, str]]) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>']

    def attr_text(attrs: dict) -> str:
        return "".join(f' {k}="{esc(v)}"' for k, v in attrs.items())

    def walk(node, depth: int, extra: str = "") -> None:
        tag, attrs, content = node
        pad = "  " * depth
        head = f"{pad}<{tag}{extra}{attr_text(attrs)}"
        if isinstance(content, str):
            out.append(f"{head}>{esc(content)}</{tag}>")
        elif not content:
            out.append(f"{head}/>")
        else:
            out.append(f"{head}>")
            for child in content:
                walk(child, depth + 1)
            out.append(f"{pad}</{tag}>")

    declarations = [f'xmlns{":" + p if p else ""}="{uri}"' for p, uri in namespaces]
    ns_text = " " + f'\n{" " * (len(root[0]) + 2)}'.join(declarations)
    walk(root, 0, ns_text)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# PEPPOL BIS Billing 3.0 (UBL 2.1)

UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
UBL_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
UBL_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
BIS3_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
BIS3_PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"


def ubl_address(street: str, postcode: str, city: str, country: str, additional: str | None = None):
    return E(
        "cac:PostalAddress",
        E("cbc:StreetName", street),
        E("cbc:AdditionalStreetName", additional) if additional else None,
        E("cbc:CityName", city),
        E("cbc:PostalZone", postcode),
        E("cac:Country", E("cbc:IdentificationCode", country)),
    )


def ubl_party(p: dict):
    """A supplier or buyer party. Keys: endpoint (scheme, id), party_id, name, street, postcode,
    city, country, vat, tax_registration, legal_id (scheme, id), legal_form, contact (name,
    phone, email)."""
    contact = p.get("contact")
    return E(
        "cac:Party",
        E("cbc:EndpointID", p["endpoint"][1], schemeID=p["endpoint"][0]),
        E("cac:PartyIdentification", E("cbc:ID", p["party_id"])) if p.get("party_id") else None,
        E("cac:PartyName", E("cbc:Name", p["name"])),
        ubl_address(p["street"], p["postcode"], p["city"], p["country"], p.get("additional")),
        E("cac:PartyTaxScheme", E("cbc:CompanyID", p["vat"]), E("cac:TaxScheme", E("cbc:ID", "VAT")))
        if p.get("vat")
        else None,
        # A tax registration other than VAT; Swedish sellers state their F-tax approval here.
        E("cac:PartyTaxScheme", E("cbc:CompanyID", p["tax_registration"]), E("cac:TaxScheme", E("cbc:ID", "TAX")))
        if p.get("tax_registration")
        else None,
        E(
            "cac:PartyLegalEntity",
            E("cbc:RegistrationName", p["name"]),
            E("cbc:CompanyID", p["legal_id"][1], schemeID=p["legal_id"][0]) if p.get("legal_id") else None,
            E("cbc:CompanyLegalForm", p["legal_form"]) if p.get("legal_form") else None,
        ),
        E(
            "cac:Contact",
            E("cbc:Name", contact["name"]) if contact.get("name") else None,
            E("cbc:Telephone", contact["phone"]) if contact.get("phone") else None,
            E("cbc:ElectronicMail", contact["email"]) if contact.get("email") else None,
        )
        if contact
        else None,
    )


def ubl_document(doc: dict, supplier: dict, currency: str) -> str:
    """One BIS 3 Invoice or CreditNote. `doc` keys: kind (invoice/credit_note), id, issue, due
    (invoices), note, buyer_reference, order_reference, credited (id, issue date), buyer,
    delivery (date), payment_id, payee_account (id, name, branch), terms, vat_percent,
    lines [(description, name, quantity, unit, price)]."""
    credit = doc["kind"] == "credit_note"
    root_tag = "CreditNote" if credit else "Invoice"
    line_tag = "cac:CreditNoteLine" if credit else "cac:InvoiceLine"
    qty_tag = "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity"
    vat = Decimal(doc["vat_percent"])

    def amt(tag: str, value: Decimal):
        return E(tag, plain(value), currencyID=currency)

    lines = []
    net = Decimal(0)
    for n, (description, name, quantity, unit, price) in enumerate(doc["lines"], start=1):
        line_amount = cents(Decimal(quantity) * Decimal(price))
        net += line_amount
        lines.append(
            E(
                line_tag,
                E("cbc:ID", str(n)),
                E(qty_tag, quantity, unitCode=unit),
                amt("cbc:LineExtensionAmount", line_amount),
                E(
                    "cac:Item",
                    E("cbc:Description", description),
                    E("cbc:Name", name),
                    E(
                        "cac:ClassifiedTaxCategory",
                        E("cbc:ID", "S"),
                        E("cbc:Percent", doc["vat_percent"]),
                        E("cac:TaxScheme", E("cbc:ID", "VAT")),
                    ),
                ),
                E("cac:Price", amt("cbc:PriceAmount", Decimal(price))),
            )
        )
    tax = cents(net * vat / 100)
    gross = net + tax
    doc["payable"] = gross  # read back by the callers (bank files, README)

    means = None
    if doc.get("payment_id"):
        account = doc["payee_account"]
        means = E(
            "cac:PaymentMeans",
            E("cbc:PaymentMeansCode", "30", name="Credit transfer"),
            E("cbc:PaymentID", doc["payment_id"]),
            E(
                "cac:PayeeFinancialAccount",
                E("cbc:ID", account[0]),
                E("cbc:Name", account[1]),
                E("cac:FinancialInstitutionBranch", E("cbc:ID", account[2])),
            ),
        )
    root = E(
        root_tag,
        E("cbc:CustomizationID", BIS3_CUSTOMIZATION),
        E("cbc:ProfileID", BIS3_PROFILE),
        E("cbc:ID", doc["id"]),
        E("cbc:IssueDate", doc["issue"]),
        None if credit else E("cbc:DueDate", doc["due"]),
        E("cbc:CreditNoteTypeCode", "381") if credit else E("cbc:InvoiceTypeCode", "380"),
        E("cbc:Note", doc["note"]) if doc.get("note") else None,
        E("cbc:DocumentCurrencyCode", currency),
        E("cbc:BuyerReference", doc["buyer_reference"]),
        E("cac:OrderReference", E("cbc:ID", doc["order_reference"])) if doc.get("order_reference") else None,
        E(
            "cac:BillingReference",
            E(
                "cac:InvoiceDocumentReference",
                E("cbc:ID", doc["credited"][0]),
                E("cbc:IssueDate", doc["credited"][1]),
            ),
        )
        if credit
        else None,
        E("cac:AccountingSupplierParty", ubl_party(supplier)),
        E("cac:AccountingCustomerParty", ubl_party(doc["buyer"])),
        E("cac:Delivery", E("cbc:ActualDeliveryDate", doc["delivery"])) if doc.get("delivery") else None,
        means,
        E("cac:PaymentTerms", E("cbc:Note", doc["terms"])) if doc.get("terms") else None,
        E(
            "cac:TaxTotal",
            amt("cbc:TaxAmount", tax),
            E(
                "cac:TaxSubtotal",
                amt("cbc:TaxableAmount", net),
                amt("cbc:TaxAmount", tax),
                E(
                    "cac:TaxCategory",
                    E("cbc:ID", "S"),
                    E("cbc:Percent", doc["vat_percent"]),
                    E("cac:TaxScheme", E("cbc:ID", "VAT")),
                ),
            ),
        ),
        E(
            "cac:LegalMonetaryTotal",
            amt("cbc:LineExtensionAmount", net),
            amt("cbc:TaxExclusiveAmount", net),
            amt("cbc:TaxInclusiveAmount", gross),
            amt("cbc:PayableAmount", gross),
        ),
        lines,
    )
    return render_xml(
        root,
        [("", UBL_CREDIT_NOTE if credit else UBL_INVOICE), ("cac", UBL_CAC), ("cbc", UBL_CBC)],
    )


# ---------------------------------------------------------------------------------------------
# kvarnby: Kvarnby Bygg AB (5566778899), Mölndal. PEPPOL BIS 3, SEK, Swedish OCR references.

KVARNBY_ID = "5566778899"
KVARNBY_BANKGIRO = "5267-9016"  # Luhn-checked below
KVARNBY = {
    "endpoint": ("0007", KVARNBY_ID),
    "name": "Kvarnby Bygg AB",
    "street": "Kvarnfallsvägen 6",
    "postcode": "43133",
    "city": "Mölndal",
    "country": "SE",
    "vat": "SE556677889901",
    "legal_id": ("0007", KVARNBY_ID),
    "tax_registration": "Godkänd för F-skatt",
    "legal_form": "Styrelsens säte: Mölndal",
    "contact": {"name": "Ekonomiavdelningen", "phone": "031-87 65 40", "email": "ekonomi@kvarnbybygg.example"},
}
KVARNBY_TERMS = "30 dagar netto. Vid försenad betalning debiteras dröjsmålsränta enligt räntelagen."

# Buyers. Organisation numbers are Luhn-valid with third digit >= 2 (asserted below).
HISINGEN = {
    "customer_no": "1187",
    "endpoint": ("0007", "5569134272"),
    "party_id": "1187",
    "name": "Hisingens Fastighetsförvaltning AB",
    "street": "Lindholmsallén 12",
    "postcode": "41755",
    "city": "Göteborg",
    "country": "SE",
    "vat": "SE556913427201",
    "legal_id": ("0007", "5569134272"),
    "contact": {"name": "Mats Eklund", "email": "fakturor@hisingensfastighet.example"},
}
FROLUNDA = {
    "customer_no": "1342",
    "endpoint": ("0007", "5591876031"),
    "party_id": "1342",
    "name": "Tandläkarhuset Frölunda AB",
    "street": "Frölunda Torg 7",
    "postcode": "42142",
    "city": "Västra Frölunda",
    "country": "SE",
    "vat": "SE559187603101",
    "legal_id": ("0007", "5591876031"),
    "contact": {"name": "Sara Åkesson", "phone": "031-29 14 60", "email": "ekonomi@tandlakarhusetfrolunda.example"},
}
LINDQVIST = {  # a private person: no organisation number, reached by e-mail
    "customer_no": "1405",
    "endpoint": ("EM", "johanna.lindqvist@example.se"),
    "party_id": "1405",
    "name": "Johanna Lindqvist",
    "street": "Stensjövägen 22",
    "postcode": "43145",
    "city": "Mölndal",
    "country": "SE",
}


def kvarnby_ocr(customer_no: str, invoice_id: str) -> str:
    """Kvarnby's invoice OCR: customer number + invoice serial, length digit, Luhn digit."""
    return se_ocr(customer_no + invoice_id.split("-")[1])


def kvarnby_documents() -> list[tuple[str, dict]]:
    hourly = "575.00"
    account = (KVARNBY_BANKGIRO, "Kvarnby Bygg AB", "SE:BANKGIRO")
    docs = [
        (
            "faktura-2026-0412.xml",
            {
                "kind": "invoice",
                "id": "2026-0412",
                "issue": "2026-08-17",
                "due": "2026-09-16",
                "buyer_reference": "Mats Eklund",
                "order_reference": "IO-2026-118",
                "buyer": HISINGEN,
                "delivery": "2026-08-14",
                "note": "Renovering av trapphus C, Lindholmsallén 12, enligt offert 2026-061.",
                "lines": [
                    ("Snickeriarbete trapphus C, vecka 31-33", "Arbetstid snickare", "48", "HUR", hourly),
                    ("Golvmatta, trappnosar, lister och lim", "Material trapphus", "1", "C62", "8400.00"),
                    ("Byggstädning efter avslutat arbete", "Byggstädning", "1", "C62", "3000.00"),
                ],
            },
        ),
        (
            "faktura-2026-0437.xml",
            {
                "kind": "invoice",
                "id": "2026-0437",
                "issue": "2026-09-01",
                "due": "2026-10-01",
                "buyer_reference": "Sara Åkesson",
                "order_reference": "TF-0087",
                "buyer": FROLUNDA,
                "delivery": "2026-08-28",
                "note": "Ombyggnad av behandlingsrum 3 och 4.",
                "lines": [
                    ("Rivning, regling och gipsning, behandlingsrum 3 och 4", "Arbetstid snickare", "96", "HUR", hourly),
                    ("Elinstallation behandlingsrum (underentreprenör)", "Arbetstid elektriker", "32", "HUR", "640.00"),
                    ("Gipsskivor, reglar, våtrumsmatta, färg", "Material", "1", "C62", "18320.00"),
                    ("Container 10 m3 inkl. bortforsling och deponi", "Container och bortforsling", "1", "C62", "7250.00"),
                ],
            },
        ),
        (
            "faktura-2026-0451.xml",
            {
                "kind": "invoice",
                "id": "2026-0451",
                "issue": "2026-09-22",
                "due": "2026-10-22",
                "buyer_reference": "Johanna Lindqvist",
                "buyer": LINDQVIST,
                "delivery": "2026-09-18",
                "note": "Byte av altandäck, Stensjövägen 22.",
                "lines": [
                    ("Rivning och nytt altandäck ca 24 m2", "Arbetstid snickare", "22", "HUR", hourly),
                    ("Tryckimpregnerat virke, skruv och beslag", "Material altan", "1", "C62", "2100.00"),
                ],
            },
        ),
        (
            # Numbered in the invoice series, as Swedish accounting systems do; it credits 0437.
            "faktura-2026-0470-kredit.xml",
            {
                "kind": "credit_note",
                "id": "2026-0470",
                "issue": "2026-11-09",
                "credited": ("2026-0437", "2026-09-01"),
                "buyer_reference": "Sara Åkesson",
                "buyer": FROLUNDA,
                "note": "Kreditering av faktura 2026-0437: överblivet material återtaget.",
                "lines": [
                    ("Återtagna gipsskivor och reglar, enligt överenskommelse 2026-11-04", "Kreditering material", "1", "C62", "5000.00"),
                ],
            },
        ),
    ]
    for _, doc in docs:
        doc["vat_percent"] = "25"
        if doc["kind"] == "invoice":
            doc["terms"] = KVARNBY_TERMS
            doc["payee_account"] = account
            doc["payment_id"] = kvarnby_ocr(doc["buyer"]["customer_no"], doc["id"])
    return docs


# ---------------------------------------------------------------------------------------------
# revontuli: Revontuli Oy (2345678-0), Rovaniemi. kravflyt XML and PEPPOL BIS 3, EUR, viitenumero.

REVONTULI_ID = "2345678-0"
KRAVFLYT_NS = "urn:kravflyt:xml:1"

# Debtors. Business IDs are computed from their bodies; persons have none.
REVONTULI_INVOICES = [
    # file, invoice_no, customer_no, type, name, body of business ID, address, postcode, city,
    # email, issue, due, amount, reminder fee
    ("20261103-laskut.xml", "10472", "3015", "business", "Napapiirin Safarit Oy", "2871436",
     "Joulumaantie 8", "96930", "Rovaniemi", "laskut@napapiirinsafarit.example",
     "2026-09-04", "2026-09-18", "3968.00", None),
    ("20261103-laskut.xml", "10481", "3108", "person", "Aino Kettunen", None,
     "Pohjolankatu 23 B 12", "96100", "Rovaniemi", None,
     "2026-09-10", "2026-09-24", "640.00", "5.00"),
    ("20261103-laskut.xml", "10488", "3122", "business", "Kemijoen Rakennustekniikka Oy", "3104258",
     "Teollisuustie 8", "94600", "Kemi", "ostoreskontra@kemijoenrt.example",
     "2026-09-15", "2026-09-29", "12450.80", None),
    ("20261110-laskut.xml", "10496", "3047", "business", "Ounasvaaran Hiihtoseura ry", "1937865",
     "Hiihtomajantie 2", "96400", "Rovaniemi", None,
     "2026-09-22", "2026-10-06", "2184.00", None),
    ("20261110-laskut.xml", "10503", "3131", "person", "Mikko Heikkinen", None,
     "Rovakatu 31 A 4", "96200", "Rovaniemi", "mikko.heikkinen@example.fi",
     "2026-09-29", "2026-10-13", "1290.00", None),
    ("20261110-laskut.xml", "10509", "3076", "business", "Tornionlaakson Sähkö Oy", "2650719",
     "Kauppakatu 14", "95400", "Tornio", "laskutus@tornionlaaksonsahko.example",
     "2026-10-05", "2026-10-19", "5725.60", None),
]


def revontuli_ref(customer_no: str, invoice_no: str) -> str:
    return fi_ref(customer_no + invoice_no)


def revontuli_xml(file_name: str) -> str:
    records = []
    for row in REVONTULI_INVOICES:
        (name_, inv, cust, dtype, debtor, body, street, postcode, city, email, issue, due, amount, fee) = row
        if name_ != file_name:
            continue
        records.append(
            E(
                "invoice",
                E("creditor_id", REVONTULI_ID),
                E("invoice_no", inv),
                E("document_type", "invoice"),
                E("customer_no", cust),
                E("debtor_type", dtype),
                E("debtor_name", debtor),
                E("debtor_id", fi_business_id(body)) if body else None,
                E("address", street),
                E("postcode", postcode),
                E("city", city),
                E("country", "FI"),
                E("email", email) if email else None,
                E("issue_date", issue),
                E("due_date", due),
                E("currency", "EUR"),
                E("amount", amount),
                E("reference", revontuli_ref(cust, inv)),
                E("reminder_fee", fee) if fee else None,
            )
        )
    return render_xml(E("invoices", records), [("", KRAVFLYT_NS)])


REVONTULI = {
    "endpoint": ("0216", "003723456780"),
    "name": "Revontuli Oy",
    "street": "Valtakatu 19",
    "postcode": "96100",
    "city": "Rovaniemi",
    "country": "FI",
    "vat": "FI23456780",
    "legal_id": ("0212", REVONTULI_ID),
    "contact": {"name": "Laskutus", "phone": "+358 16 342 1100", "email": "laskutus@revontuli.example"},
}


def revontuli_credit_note() -> tuple[str, dict]:
    row = next(r for r in REVONTULI_INVOICES if r[1] == "10509")
    body = row[5]
    business_id = fi_business_id(body)
    buyer = {
        "endpoint": ("0216", "0037" + business_id.replace("-", "")),
        "party_id": row[2],
        "name": row[4],
        "street": row[6],
        "postcode": row[7],
        "city": row[8],
        "country": "FI",
        "vat": "FI" + business_id.replace("-", ""),
        "legal_id": ("0212", business_id),
        "contact": {"email": row[9]},
    }
    return (
        "20261117-hyvityslasku-10517.xml",
        {
            "kind": "credit_note",
            "id": "10517",
            "issue": "2026-11-17",
            "credited": ("10509", "2026-10-05"),
            "buyer_reference": "Kokous 2.10.2026",
            "buyer": buyer,
            "note": "Hyvitys laskusta 10509: kaksi peruutettua osallistujaa.",
            "vat_percent": "25.5",
            "lines": [
                ("Kokouspäivä 2.10.2026, peruutetut osallistujat", "Kokouspaketti, hyvitys", "2", "C62", "500.00"),
            ],
        },
    )


# ---------------------------------------------------------------------------------------------
# Agency references, read from a run of all samples (see the module docstring). NO: kid-mod10,
# SE: se-ocr with length digit, FI: fi-ref; each is checked in check_invented_numbers().

AGENCY_REFS = {
    # debtor: (case_no, agency reference)
    "Napapiirin Safarit Oy": ("2026-000001", "7000000016"),
    "Aino Kettunen": ("2026-000002", "7000000029"),
    "Mikko Heikkinen": ("2026-000005", "7000000058"),
    "Tornionlaakson Sähkö Oy": ("2026-000006", "7000000061"),
    "Bjørnstad Bær og Blomster AS": ("2026-000007", "7000000070"),
    "Trollheimen Fjellføring AS": ("2026-000009", "7000000096"),
    "Kjærstad, Åse": ("2026-000010", "7000000104"),
    "Grøtting, Håkon": ("2026-000011", "7000000112"),
    "Hisingens Fastighetsförvaltning AB": ("2026-000014", "70000001415"),
    "Tandläkarhuset Frölunda AB": ("2026-000015", "70000001514"),
    "Johanna Lindqvist": ("2026-000016", "70000001613"),
    "Fjordkanten Bygg AS": ("2026-000017", "7000000179"),
    "Berit Hansen": ("2026-000018", "7000000187"),
    "Per Arne Karlsen": ("2026-000019", "7000000195"),
    "Ole Martin Johansen": ("2026-000020", "7000000203"),
    "Tromsø Sjømat Engros AS": ("2026-000021", "7000000211"),
    "Solstrand Barnehage SA": ("2026-000024", "7000000245"),
    "Hilde Marie Pedersen": ("2026-000025", "7000000252"),
}


def agency_ref(debtor: str) -> str:
    return AGENCY_REFS[debtor][1]


def case_no(debtor: str) -> str:
    return AGENCY_REFS[debtor][0]


# ---------------------------------------------------------------------------------------------
# bank: Nets OCR giro (NOK) into the agency's Norwegian client account.

OCR_DATA_TRANSMITTER = "00008080"  # Nets
OCR_DATA_RECIPIENT = "00713462"  # the agency's customer unit at Nets
OCR_TRANSMISSION_NO = "2011001"
OCR_AGREEMENT_ID = "004718230"
OCR_ACCOUNT = no_account("1503421887")  # the agency's client account (klientkonto)

# One assignment per settlement day: (assignment number, Nets date DDMMYY, transactions), each
# transaction (transaction type, amount, KID, payer's account). Types: 10 giro debited account
# (online bank), 12 direct remittance, 13 business terminal giro, 14 counter giro.
OCR_ASSIGNMENTS = [
    ("0004611", "181126", [
        (12, "49880.00", agency_ref("Fjordkanten Bygg AS"), no_account("1506112034")),
        (13, "24980.00", agency_ref("Tromsø Sjømat Engros AS"), no_account("1207338461")),
    ]),
    ("0004612", "191126", [
        # partial: 400.00 of 875.50
        (10, "400.00", agency_ref("Per Arne Karlsen"), no_account("1594262107")),
        # over-payment: 4 500.00 where 4 400.00 is open
        (10, "4500.00", agency_ref("Ole Martin Johansen"), no_account("3000417725")),
        (13, "21450.00", agency_ref("Trollheimen Fjellføring AS"), no_account("1822094473")),
    ]),
    ("0004613", "201126", [
        # the invoice's own KID (Nordlys invoice 104516), not the agency reference
        (10, "2150.00", "205031045169", no_account("0540313888")),
        # ODD: the agency reference 7000000245 with a wrong check digit
        (12, "4400.00", "7000000246", no_account("1254187620")),
        # ODD: a valid KID that is no case's and no invoice's (paid to the wrong payee)
        (10, "1245.00", kid_mod10("40718830021"), no_account("6011330192")),
        (14, "10975.00", agency_ref("Kjærstad, Åse"), no_account("1203550471")),
    ]),
]


def ocr_giro() -> str:
    lines = [f"NY000010{OCR_DATA_TRANSMITTER}{OCR_TRANSMISSION_NO}{OCR_DATA_RECIPIENT}{'0' * 49}"]
    total_count, total_sum, serial = 0, 0, 2210
    for number, nets_date, transactions in OCR_ASSIGNMENTS:
        start = len(lines)
        lines.append(f"NY090020{OCR_AGREEMENT_ID}{number}{OCR_ACCOUNT}{'0' * 45}")
        assignment_sum = 0
        for n, (ttype, amount, kid, debit) in enumerate(transactions, start=1):
            serial += 7
            øre = minor(Decimal(amount))
            day = nets_date[:2]
            lines.append(
                f"NY09{ttype:02d}30{n:07d}{nets_date}13{day}1{serial:05d}0{øre:017d}{kid:>25}000000"
            )
            # The payer's bank handled the payment the working day before settlement.
            bank_date = f"{int(day) - 1:02d}{nets_date[2:]}"
            archive = f"{int(day)}{serial:04d}{n:03d}"
            lines.append(f"NY09{ttype:02d}31{n:07d}{'0' * 10}{archive}{'0' * 7}{bank_date}{debit}{'0' * 22}")
            assignment_sum += øre
        records = len(lines) - start + 1
        lines.append(
            f"NY090088{len(transactions):08d}{records:08d}{assignment_sum:017d}"
            f"{nets_date}{nets_date}{nets_date}{'0' * 21}"
        )
        total_count += len(transactions)
        total_sum += assignment_sum
    lines.append(f"NY000089{total_count:08d}{len(lines) + 1:08d}{total_sum:017d}{OCR_ASSIGNMENTS[-1][1]}{'0' * 33}")
    for line in lines:
        assert len(line) == 80 and line.isascii(), line
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# bank: Bankgirot BgMax (SEK) into the agency's Swedish bankgiro.

BGMAX_RECEIVER = "57204315"  # the agency's bankgiro, Luhn-checked
BGMAX_BANK_ACCOUNT = "53511023456"  # the SEB account behind it
BGMAX_PAYMENTS = [
    # sender bankgiro, reference, amount, channel, payer name, street, postcode, city, org no
    # Hisingens pays the undisputed part of 2026-0412 (the desk file disputes 8 750.00)
    ("50137629", agency_ref("Hisingens Fastighetsförvaltning AB"), "40000.00", 2,
     "Hisingens Fastighetsförvaltning AB", "Lindholmsallén 12", "41755", "Göteborg", "5569134272"),
    # Frölunda pays invoice 2026-0437 less credit note 2026-0470, with the invoice's own OCR
    ("55021182", "OCR:2026-0437", "120312.50", 2,
     "Tandläkarhuset Frölunda AB", "Frölunda Torg 7", "42142", "Västra Frölunda", "5591876031"),
    # Johanna Lindqvist pays part on the agency reference, her husband the rest on the invoice OCR
    ("0", agency_ref("Johanna Lindqvist"), "10000.00", 1,
     "Johanna Lindqvist", "Stensjövägen 22", "43145", "Mölndal", None),
    ("0", "OCR:2026-0451", "8437.50", 1,
     "Erik Lindqvist", "Stensjövägen 22", "43145", "Mölndal", None),
]


def bgmax() -> str:
    ocrs = {doc["id"]: doc["payment_id"] for _, doc in kvarnby_documents() if doc.get("payment_id")}

    def rec(text: str) -> str:
        assert len(text) <= 80, text
        return text.ljust(80)

    lines = [rec(f"01{'BGMAX':<20}01{'20261120061844120417'}P")]
    lines.append(rec(f"05{BGMAX_RECEIVER:>010}{'':10}SEK"))
    total = 0
    for i, (sender, reference, amount, channel, name, street, postcode, city, org) in enumerate(BGMAX_PAYMENTS):
        if reference.startswith("OCR:"):
            reference = ocrs[reference[4:]]
        öre = minor(Decimal(amount))
        total += öre
        serial = f"{8811200411 + 13 * i:012d}"
        lines.append(rec(f"20{int(sender):010d}{reference:<25}{öre:018d}2{channel}{serial}0"))
        lines.append(rec(f"26{name:<35}"))
        lines.append(rec(f"27{street:<35}{postcode:<9}"))
        lines.append(rec(f"28{city:<35}"))
        if org:
            lines.append(rec(f"29{org:>012}".replace(" ", "0")))
    lines.append(rec(f"15{BGMAX_BANK_ACCOUNT:>035}".replace(" ", "0") + f"2026112000117{total:018d}SEK{len(BGMAX_PAYMENTS):08d}"))
    lines.append(rec(f"70{len(BGMAX_PAYMENTS):08d}{0:08d}{0:08d}{1:08d}"))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# bank: ISO 20022 camt.054.001.08 (EUR) from the agency's Finnish client account.

CAMT_NS = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"


def fi_iban(body13: str) -> str:
    """A Finnish IBAN from the 13 digits before the BBAN's Luhn check digit."""
    return iban("FI", body13 + luhn_digit(body13))


CAMT_ACCOUNT = fi_iban("1573300081234")  # the agency's client account at Nordea


# Entries: (entry ref, booking date, C/D, bank transaction code, details)
# details: (AcctSvcrRef, EndToEndId, amount, payer, payer IBAN, reference or None, unstructured text or None)
CAMT_ENTRIES = [
    ("20261119-RF-000412", "2026-11-19", "CRDT", ("PMNT", "RCDT", "ESCT"), [
        ("2026111900412A0001", "NOTPROVIDED", "3968.00", "Napapiirin Safarit Oy", fi_iban("2204180056712"),
         agency_ref("Napapiirin Safarit Oy"), None),
        # Aino Kettunen pays with the invoice's own reference: invoice 10481 + reminder fee
        ("2026111900412A0002", "NOTPROVIDED", "645.00", "Aino Kettunen", fi_iban("1099350066241"),
         revontuli_ref("3108", "10481"), None),
    ]),
    ("20261120-RF-000417", "2026-11-20", "CRDT", ("PMNT", "RCDT", "ESCT"), [
        # Tornionlaakson Sähkö pays invoice 10509 less credit note 10517
        ("2026112000417A0001", "TLS-MAKSU-88213", "4470.60", "Tornionlaakson Sähkö Oy", fi_iban("1448300098765"),
         agency_ref("Tornionlaakson Sähkö Oy"), None),
        # Unstructured: the reference typed into the message field among other words
        ("2026112000417A0002", "NOTPROVIDED", "1290.00", "Mikko Heikkinen", fi_iban("2157450011209"),
         None, f"Lasku 10503 viite {agency_ref('Mikko Heikkinen')} kiitos"),
    ]),
    # A debit (the bank's service charges): read and skipped
    ("20261120-CHG-1026", "2026-11-20", "DBIT", ("ACMT", "MDOP", "CHRG"), [
        ("2026112000CHG10261", None, "18.60", None, None, None, "Palvelumaksut 10/2026"),
    ]),
]


def camt054() -> str:
    def amount(value: str):
        return E("Amt", plain(Decimal(value)), Ccy="EUR")

    entries = []
    for n, (entry_ref, booked, cd, code, details) in enumerate(CAMT_ENTRIES, start=1):
        total = sum(Decimal(t[2]) for t in details)
        txs = []
        for svcr_ref, e2e, value, payer, payer_iban, ref, text in details:
            if ref:
                remittance = E(
                    "RmtInf",
                    E(
                        "Strd",
                        E("CdtrRefInf", E("Tp", E("CdOrPrtry", E("Cd", "SCOR"))), E("Ref", ref)),
                    ),
                )
            elif text:
                remittance = E("RmtInf", E("Ustrd", text))
            else:
                remittance = None
            refs = E("Refs", E("AcctSvcrRef", svcr_ref), E("EndToEndId", e2e) if e2e else None)
            parties = (
                E(
                    "RltdPties",
                    E("Dbtr", E("Pty", E("Nm", payer))),
                    E("DbtrAcct", E("Id", E("IBAN", payer_iban))),
                )
                if payer
                else None
            )
            txs.append(E("TxDtls", refs, amount(value), E("CdtDbtInd", cd), parties, remittance))
        entries.append(
            E(
                "Ntry",
                E("NtryRef", str(n)),
                amount(str(total)),
                E("CdtDbtInd", cd),
                E("Sts", E("Cd", "BOOK")),
                E("BookgDt", E("Dt", booked)),
                E("ValDt", E("Dt", booked)),
                E("AcctSvcrRef", entry_ref),
                E(
                    "BkTxCd",
                    E(
                        "Domn",
                        E("Cd", code[0]),
                        E("Fmly", E("Cd", code[1]), E("SubFmlyCd", code[2])),
                    ),
                ),
                E("NtryDtls", E("Btch", E("NbOfTxs", str(len(details)))) if len(details) > 1 else None, txs),
            )
        )
    root = E(
        "Document",
        E(
            "BkToCstmrDbtCdtNtfctn",
            E(
                "GrpHdr",
                E("MsgId", "NDEAFIHH054202611200001"),
                E("CreDtTm", "2026-11-20T21:04:37+02:00"),
            ),
            E(
                "Ntfctn",
                E("Id", "054-20261120-0001"),
                E("CreDtTm", "2026-11-20T21:04:37+02:00"),
                E(
                    "Acct",
                    E("Id", E("IBAN", CAMT_ACCOUNT)),
                    E("Ccy", "EUR"),
                    E("Ownr", E("Nm", "Kravflyt Inkasso AS")),
                    E("Svcr", E("FinInstnId", E("BICFI", "NDEAFIHH"))),
                ),
                entries,
            ),
        ),
    )
    return render_xml(root, [("", CAMT_NS)])


# ---------------------------------------------------------------------------------------------
# bank: canonical payments CSV (a manual export of the Norwegian client account).

PAYMENTS_CSV_HEADER = ["payment_id", "kind", "reference", "amount", "currency", "payment_date", "payer_name", "payer_account"]
PAYMENTS_CSV = [
    ("DNB-20261120-000187", "bank", agency_ref("Bjørnstad Bær og Blomster AS"), "12380.00", "2026-11-20",
     "Bjørnstad Bær og Blomster AS", no_account("1594304471")),
    ("DNB-20261120-000188", "bank", agency_ref("Hilde Marie Pedersen"), "1890.00", "2026-11-20",
     "Hilde Marie Pedersen", no_account("1201870342")),
    # No reference: the desk assigns it to Berit Hansen's case (instruction KS-20261122-06)
    ("DNB-20261120-000191", "bank", "", "1424.00", "2026-11-20",
     "Berit Hansen", no_account("1254902117")),
]


def payments_csv() -> str:
    rows = [";".join(PAYMENTS_CSV_HEADER)]
    for pid, kind, ref, amount, date, payer, account in PAYMENTS_CSV:
        rows.append(";".join([pid, kind, ref, comma(Decimal(amount)), "NOK", date, payer, account]))
    return "\n".join(rows) + "\n"


# ---------------------------------------------------------------------------------------------
# desk: instructions from the agency's customer service.

INSTRUCTIONS_HEADER = [
    "instruction_id", "creditor_id", "invoice_no", "case_no", "action", "amount", "outcome", "until_date", "payment_id", "reason",
]
INSTRUCTIONS = [
    dict(instruction_id="KS-20261122-01", creditor_id="923609016", invoice_no="104518", action="dispute",
         reason="Kunden bestrider hele kravet: mener elektrikerarbeidet på hytte 4 ikke ble fullført etter tilbudet."),
    dict(instruction_id="KS-20261122-02", creditor_id=KVARNBY_ID, invoice_no="2026-0412", action="dispute", amount="8750.00",
         reason="Kunden bestrider 8 750 kr avseende tilläggsarbete i trapphus C som enligt kunden inte beställts; resten betalas."),
    dict(instruction_id="KS-20261122-03", creditor_id="987654325", case_no=case_no("Grøtting, Håkon"), action="pause",
         until_date="2026-12-15",
         reason="Skyldner er sykmeldt og har bedt om utsettelse; kreditor godtar pause til 15.12."),
    dict(instruction_id="KS-20261122-04", creditor_id="923609016", invoice_no="104525", action="withdraw",
         reason="Kreditor trekker kravet etter avtale med kunden; oppgjør skjer direkte i butikken."),
    dict(instruction_id="KS-20261122-05", creditor_id="987654325", invoice_no="30124", action="write_off",
         reason="Dødsboet er innstilt uten midler; kreditor har godkjent avskrivning."),
    dict(instruction_id="KS-20261122-06", creditor_id="923609016", case_no=case_no("Berit Hansen"),
         action="assign_payment", payment_id="DNB-20261120-000191",
         reason="Innbetaling uten KID fra Berit Hansen; beløp og navn stemmer med saken."),
]


def csv_field(value: str) -> str:
    if any(ch in value for ch in ';"\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def instructions_csv() -> str:
    rows = [";".join(INSTRUCTIONS_HEADER)]
    for instruction in INSTRUCTIONS:
        values = []
        for column in INSTRUCTIONS_HEADER:
            value = instruction.get(column, "")
            if column == "amount" and value:
                value = comma(Decimal(value))
            values.append(csv_field(value))
        rows.append(";".join(values))
    return "\n".join(rows) + "\n"


# ---------------------------------------------------------------------------------------------


def check_invented_numbers() -> None:
    for debtor, (_, ref) in AGENCY_REFS.items():
        if len(ref) == 11:  # Swedish: length digit + Luhn
            assert ref == se_ocr(ref[:-2]), debtor
        elif debtor in {r[4] for r in REVONTULI_INVOICES}:
            assert ref == fi_ref(ref[:-1]), debtor
        else:
            assert ref == kid_mod10(ref[:-1]), debtor
    assert luhn_ok(BGMAX_RECEIVER) and luhn_ok("50137629") and luhn_ok("55021182")
    assert kid_mod10("700000024") != "7000000246"  # the deliberately wrong check digit
    for party in (KVARNBY, HISINGEN, FROLUNDA):
        assert se_org_ok(party["legal_id"][1]), party["name"]
    assert luhn_ok(KVARNBY_BANKGIRO.replace("-", "")), "Kvarnby's bankgiro"
    assert fi_business_id("2345678") == REVONTULI_ID
    for row in REVONTULI_INVOICES:
        if row[5]:
            fi_business_id(row[5])


def write(path: Path, text: str, encoding: str = "utf-8", newline: str = "\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.replace("\n", newline).encode(encoding)
    path.write_bytes(data)
    print(f"wrote {path.relative_to(HERE.parent)} ({len(data)} bytes)")


def main() -> int:
    check_invented_numbers()
    for name, doc in kvarnby_documents():
        write(INBOX / "kvarnby" / name, ubl_document(doc, KVARNBY, "SEK"))
    for name in sorted({r[0] for r in REVONTULI_INVOICES}):
        write(INBOX / "revontuli" / name, revontuli_xml(name))
    name, doc = revontuli_credit_note()
    write(INBOX / "revontuli" / name, ubl_document(doc, REVONTULI, "EUR"))
    # Bank files as the banks deliver them: fixed-width records with CRLF; BgMax in ISO-8859-1.
    write(INBOX / "bank" / "ocr-nets-20261120.txt", ocr_giro(), "ascii", "\r\n")
    write(INBOX / "bank" / "sebank-bgmax-20261120.txt", bgmax(), "iso-8859-1", "\r\n")
    write(INBOX / "bank" / "nordea-camt054-20261120.xml", camt054())
    write(INBOX / "bank" / "innbetalinger-20261121.csv", payments_csv())
    write(INBOX / "desk" / "instrukser-20261122.csv", instructions_csv())
    return 0


if __name__ == "__main__":
    sys.exit(main())
