//! The legal rule tables per country: fees, collection fee bands, interest rates, minimum days and allocation order, dated and with their sources.
