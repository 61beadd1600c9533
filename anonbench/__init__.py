"""anonbench: can this 'anonymized' usage metadata be re-identified, and how much use is left in it?"""

__version__ = "0.1.0"
