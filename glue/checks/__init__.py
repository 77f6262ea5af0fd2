"""glue.checks"""
