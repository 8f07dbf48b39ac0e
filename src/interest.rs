//! Late-payment interest: per day on open principal after the due date at the rate in force that day, actual/365, simple, exact.
