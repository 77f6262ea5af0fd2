"""glue.sequence"""
