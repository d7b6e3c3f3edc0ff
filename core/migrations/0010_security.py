from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('leadwire', '0009_calls')]

    initial = False

    operations = [
        ops.CreateModel(
            name='QueryBudget',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=100)),
                ('full_at', fields.FloatField(default=0.0)),
            ],
            options={'table': 'query_budget', 'app': 'leadwire', 'pk_attr': 'id', 'table_description': "One API client's query-cost bucket (core.budget): the theoretical time,"},
            bases=['Model'],
        ),
        ops.AddIndex(
            model_name='LoginFailure',
            index=Index(fields=['ip', 'created_at']),
        ),
    ]
