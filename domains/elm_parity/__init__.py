"""4-Parity and Quadratic: bug-fixing domains from Appendix A of the ELM paper."""
