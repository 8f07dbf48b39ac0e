-- Migration 6 (issue 14, fewer index entries per record): `postings_invoice` goes. Every query
-- that summed an invoice's postings now finds them through `postings_case` (the case and the
-- component, then the invoice among the case's few postings), so the index only cost one entry
-- per posting written: an invoice writes one or two postings, a payment three on average.
DROP INDEX postings_invoice;
