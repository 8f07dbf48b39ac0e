//! Nets OCR giro (Norway): 80-character records → bank payment records, control totals checked.
