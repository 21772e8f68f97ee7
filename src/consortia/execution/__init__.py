"""check_tx / apply_tx / apply_block and the contract registry."""
