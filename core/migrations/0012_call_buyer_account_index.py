from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('leadwire', '0011_query_budget_unlogged')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Call',
            index=Index(fields=['buyer_account_id', 'ended_at']),
        ),
    ]
