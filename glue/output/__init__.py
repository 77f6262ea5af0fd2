"""glue.output"""
