"""Imports: spreadsheets of holders, enterprises and loans, and the lenders' repayment
statements, validated row by row and written all or nothing."""
