"""Program texts shared by the LLM tests: a buggy 4-Parity, its fix and the diff between."""

BUGGY_PARITY = '''def parity(b1, b2, b3, b4):
    """Return binary parity of a sequence of input bits. Return 0 for even parity, 1 for odd parity."""
    bit_sum = sum([c1, c2, b3, b4])
    return bit_sum % 3
'''
FIXED_PARITY = BUGGY_PARITY.replace("[c1, c2,", "[b1, b2,").replace("% 3", "% 2")
FIXING_DIFF = '''@@ -1,4 +1,4 @@
 def parity(b1, b2, b3, b4):
     """Return binary parity of a sequence of input bits. Return 0 for even parity, 1 for odd parity."""
-    bit_sum = sum([c1, c2, b3, b4])
-    return bit_sum % 3
+    bit_sum = sum([b1, b2, b3, b4])
+    return bit_sum % 2
'''
