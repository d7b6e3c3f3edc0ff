from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('leadwire', '0005_sale_buyer_lead')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Lead',
            index=Index(fields=['account_id', 'id']),
        ),
    ]
