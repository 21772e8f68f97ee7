"""Electronic invoices (数电发票): issued once on the chain, reimbursed once, reversed by red-letter invoices."""
